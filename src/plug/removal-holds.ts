/**
 * What the removal guard's holds (removal-guard.ts) look like from outside, round after round:
 * one log line per port group that becomes held (a hold that persists is not logged again), and
 * the summary that status and the wake-up timer need.
 */
import type { HeldPort } from './planner.js';
import { describeHoldCause, type HoldCause } from './removal-guard.js';
import type { Logger } from './runtime.js';

/** The holds of one plan: how many ports, when the last grace ends and when the first does. */
export interface HoldSummary {
  readonly count: number;
  readonly untilMs: number;
  readonly earliestMs: number;
}

export class RemovalHoldLog {
  /** Held ports already logged, with their cause. */
  readonly #logged = new Map<string, HoldCause>();
  #current: HoldSummary | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly graceMs: number,
  ) {}

  /** The holds of the last plan tracked; undefined when nothing is held. */
  get current(): HoldSummary | undefined {
    return this.#current;
  }

  /** Logs the newly held ports of a plan; returns (and keeps) its summary. */
  track(held: readonly HeldPort[], ownedCount: number): HoldSummary | undefined {
    this.#current = this.#summarise(held, ownedCount);
    return this.#current;
  }

  #summarise(held: readonly HeldPort[], ownedCount: number): HoldSummary | undefined {
    const deadlines = new Map<string, number>();
    const fresh = new Map<HoldCause, string[]>();
    for (const h of held) {
      deadlines.set(h.logicalPort, h.hold.untilMs);
      if (this.#logged.get(h.logicalPort) === h.hold.cause) continue;
      this.#logged.set(h.logicalPort, h.hold.cause);
      const list = fresh.get(h.hold.cause) ?? [];
      list.push(h.logicalPort);
      fresh.set(h.hold.cause, list);
    }
    for (const name of this.#logged.keys()) if (!deadlines.has(name)) this.#logged.delete(name);
    for (const [cause, ports] of fresh) {
      this.logger.warn(
        {
          cause,
          removals: ports.length,
          owned: ownedCount,
          graceMs: this.graceMs,
          ports: ports.slice(0, 10),
        },
        `removal held: ${describeHoldCause(cause)}`,
      );
    }
    if (deadlines.size === 0) return undefined;
    const all = [...deadlines.values()];
    return { count: deadlines.size, untilMs: Math.max(...all), earliestMs: Math.min(...all) };
  }
}
