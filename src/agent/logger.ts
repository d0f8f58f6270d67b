/**
 * Logging in the agent: the runtime contract's loggers (src/plug/runtime.ts) plus a rate limiter
 * for messages that would otherwise repeat on every planning round (a port stuck in `Conflict`
 * must not log ten lines a second).
 */
import type { Logger as LeafLogger, RootLogger } from '../plug/index.js';

/** The agent's logger is the runtime contract's {@link RootLogger} (pino's shape, with `child`). */
export type Logger = RootLogger;
export { noopLogger } from '../plug/index.js';

export type LogLevelName = 'debug' | 'info' | 'warn' | 'error';

const PRUNE_AT = 10_000;

/**
 * Logs a message at most once per `intervalMs` per key; the next line after a quiet period
 * carries `suppressed: n`, the number of repeats that were dropped in between.
 */
export class RateLimitedLog {
  readonly #last = new Map<string, { atMs: number; suppressed: number }>();

  constructor(
    private readonly logger: LeafLogger,
    private readonly now: () => number,
    private readonly intervalMs = 60_000,
  ) {}

  log(level: LogLevelName, key: string, fields: Record<string, unknown>, msg: string): void {
    const now = this.now();
    const last = this.#last.get(key);
    if (last !== undefined && now - last.atMs < this.intervalMs) {
      last.suppressed += 1;
      return;
    }
    const suppressed = last?.suppressed ?? 0;
    if (this.#last.size >= PRUNE_AT) this.#prune(now);
    this.#last.set(key, { atMs: now, suppressed: 0 });
    this.logger[level](suppressed > 0 ? { ...fields, suppressed } : fields, msg);
  }

  /** How many keys are remembered (bounded under churn). */
  get trackedKeys(): number {
    return this.#last.size;
  }

  /** Keys are per port: drop the quiet ones so that port churn cannot grow the table forever. */
  #prune(now: number): void {
    for (const [key, entry] of this.#last) if (now - entry.atMs >= this.intervalMs) this.#last.delete(key);
  }

  /** Forgets a key so that its next occurrence logs at once (e.g. after the condition cleared). */
  reset(key: string): void {
    this.#last.delete(key);
  }
}
