/**
 * The provider registry (DESIGN §3.3): the set of plug providers by type, their availability,
 * and the periodic `run()` of each.
 *
 * Isolation is the point: a provider whose `init()` fails is registered as *unavailable* with the
 * reason (its ports report it), and a provider whose `run()` throws, rejects or hangs is recorded
 * with that error and backed off, without delaying or failing any other provider. While its last
 * `run()` failed, `lookup()` answers *unavailable* with that error: its lookup tables may be stale,
 * so its ports are reported `Pending` with the error and keep whatever interface they have
 * (DESIGN §3.4) until a `run()` succeeds again.
 */
import { noopLogger, systemClock, systemTimers, type Clock, type Logger, type Timers } from './runtime.js';
import { DuplicateProviderError, InvalidProviderError, UnknownProviderError } from './errors.js';
import type { ProviderLookupResult } from './planner.js';
import type { PlugProvider } from './provider.js';

export interface ProviderRegistryOptions {
  readonly clock?: Clock;
  readonly timers?: Timers;
  readonly logger?: Logger;
  /** Time limit for each provider's `run()`; default 5 s. */
  readonly runTimeoutMs?: number;
  /** Time limit for `init()` and `destroy()`; default 30 s. */
  readonly lifecycleTimeoutMs?: number;
  /** First backoff after a failed `run()`, doubled per further failure; default 1 s. */
  readonly backoffInitialMs?: number;
  /** Backoff ceiling; default 60 s. */
  readonly backoffMaxMs?: number;
  /**
   * Called with the type when a provider's `run()` starts failing or succeeds again, i.e. when
   * `lookup()` changes its answer for that type; the agent replans on it.
   */
  readonly onRunHealthChange?: (type: string) => void;
  /**
   * Called with `true` when a provider's `run()` is called and with `false` when that call settles
   * (however late: a timed-out call settles only when the provider's promise does). The agent's
   * liveness counts a call that never settles as wedged work (ADR 0106).
   */
  readonly onRunActivity?: (type: string, running: boolean) => void;
}

/** One provider as the agent sees it; also the shape of the status model's provider entry. */
export interface ProviderState {
  readonly type: string;
  /** Its ports can be planned: registered, initialised, and its last `run()` did not fail. */
  readonly available: boolean;
  /** Why it is unavailable: init failure, unregistration, or the current `run()` error. */
  readonly reason?: string;
  /** Failed `run()` calls in a row (0 after a success). */
  readonly consecutiveFailures: number;
  /** While backing off: the earliest time `runAll()` calls `run()` again. */
  readonly nextRunAtMs?: number;
  /** A `run()` call (possibly timed out) has not settled yet. */
  readonly running: boolean;
}

export interface ProviderRunFailure {
  readonly type: string;
  readonly message: string;
}

export interface RunAllResult {
  /** Types whose `run()` returned `true`: the agent should replan. */
  readonly changed: readonly string[];
  /** Types whose `run()` threw, rejected, returned a non-boolean or exceeded the time limit. */
  readonly failed: readonly ProviderRunFailure[];
  /** Types not run this round: backing off, or an earlier `run()` has not settled. */
  readonly skipped: readonly string[];
}

interface Slot {
  readonly type: string;
  provider: PlugProvider | undefined;
  unavailableReason: string | undefined;
  consecutiveFailures: number;
  lastRunError: string | undefined;
  nextRunAtMs: number | undefined;
  running: boolean;
}

type Outcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly message: string; readonly timedOut?: boolean };

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function validateProvider(value: unknown): asserts value is PlugProvider {
  if (typeof value !== 'object' || value === null) {
    throw new InvalidProviderError(`a provider must be an object, got ${String(value)}`);
  }
  const record = value as Record<string, unknown>;
  const type = record['type'];
  if (typeof type !== 'string' || type === '') {
    throw new InvalidProviderError(
      `a provider needs a non-empty string "type", got ${JSON.stringify(type) ?? String(type)}`,
    );
  }
  for (const method of ['prepare', 'maintainedIfaceOptions'] as const) {
    if (typeof record[method] !== 'function') {
      throw new InvalidProviderError(`provider ${JSON.stringify(type)} has no ${method}() method`);
    }
  }
  for (const method of ['init', 'destroy', 'run', 'finish', 'release', 'inventory'] as const) {
    const member = record[method];
    if (member !== undefined && typeof member !== 'function') {
      throw new InvalidProviderError(
        `provider ${JSON.stringify(type)} has a "${method}" that is not a function`,
      );
    }
  }
}

export class ProviderRegistry {
  readonly #slots = new Map<string, Slot>();
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #logger: Logger;
  readonly #runTimeoutMs: number;
  readonly #lifecycleTimeoutMs: number;
  readonly #backoffInitialMs: number;
  readonly #backoffMaxMs: number;
  readonly #onRunHealthChange: ((type: string) => void) | undefined;
  readonly #onRunActivity: ((type: string, running: boolean) => void) | undefined;

  constructor(options: ProviderRegistryOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#timers = options.timers ?? systemTimers;
    this.#logger = options.logger ?? noopLogger;
    this.#runTimeoutMs = positive('runTimeoutMs', options.runTimeoutMs, 5_000);
    this.#lifecycleTimeoutMs = positive('lifecycleTimeoutMs', options.lifecycleTimeoutMs, 30_000);
    this.#backoffInitialMs = positive('backoffInitialMs', options.backoffInitialMs, 1_000);
    this.#backoffMaxMs = positive('backoffMaxMs', options.backoffMaxMs, 60_000);
    this.#onRunHealthChange = options.onRunHealthChange;
    this.#onRunActivity = options.onRunActivity;
  }

  /**
   * Registers a provider and runs its `init()`. A duplicate type or an invalid provider rejects
   * (nothing is registered); an `init()` that throws, rejects or exceeds the time limit registers
   * the provider as unavailable with that reason, and resolves.
   */
  async register(provider: PlugProvider): Promise<ProviderState> {
    validateProvider(provider);
    const type = provider.type;
    if (this.#slots.has(type)) throw new DuplicateProviderError(type);
    const slot: Slot = {
      type,
      provider: undefined,
      unavailableReason: 'initializing',
      consecutiveFailures: 0,
      lastRunError: undefined,
      nextRunAtMs: undefined,
      running: false,
    };
    this.#slots.set(type, slot);
    const outcome: Outcome<unknown> =
      provider.init === undefined
        ? { ok: true, value: undefined }
        : await this.#withTimeLimit(() => provider.init?.(), this.#lifecycleTimeoutMs, 'init()');
    if (this.#slots.get(type) !== slot) {
      // Unregistered (or destroyAll) while init() ran: undo the init that just finished.
      if (outcome.ok) await this.#destroy({ ...slot, provider });
      return stateOf(slot);
    }
    if (outcome.ok) {
      slot.provider = provider;
      slot.unavailableReason = undefined;
      this.#logger.info({ provider: type }, 'provider registered');
    } else {
      slot.unavailableReason = `init failed: ${outcome.message}`;
      this.#logger.warn(
        { provider: type, reason: slot.unavailableReason },
        'provider registered as unavailable',
      );
    }
    return stateOf(slot);
  }

  /** Removes a provider and calls its `destroy()` (never unplugs anything). Unknown type rejects. */
  async unregister(type: string): Promise<void> {
    const slot = this.#slots.get(type);
    if (slot === undefined) throw new UnknownProviderError(type);
    this.#slots.delete(type);
    await this.#destroy(slot);
  }

  /** The provider of `type` with its availability, or undefined when no such type is registered. */
  get(type: string): ProviderState | undefined {
    const slot = this.#slots.get(type);
    return slot === undefined ? undefined : stateOf(slot);
  }

  /** The registered provider object, only when it is available. */
  provider(type: string): PlugProvider | undefined {
    return this.#slots.get(type)?.provider;
  }

  /**
   * The planner's view of a type: available provider, unavailable with reason (init failed, or
   * the last `run()` failed), or unknown.
   */
  readonly lookup = (type: string): ProviderLookupResult | undefined => {
    const slot = this.#slots.get(type);
    if (slot === undefined) return undefined;
    if (slot.provider === undefined)
      return { kind: 'unavailable', reason: slot.unavailableReason ?? 'unavailable' };
    if (slot.lastRunError !== undefined) return { kind: 'unavailable', reason: slot.lastRunError };
    return { kind: 'available', provider: slot.provider };
  };

  /** Every registered provider in registration order. */
  list(): ProviderState[] {
    return [...this.#slots.values()].map(stateOf);
  }

  /**
   * Calls `run()` of every available provider concurrently, each within the time limit. A
   * failure affects only that provider: it is recorded and the provider is backed off
   * exponentially. A provider whose previous `run()` has not settled is not called again.
   */
  async runAll(): Promise<RunAllResult> {
    const changed: string[] = [];
    const failed: ProviderRunFailure[] = [];
    const skipped: string[] = [];
    const now = this.#clock.now();
    const rounds: Promise<void>[] = [];
    for (const slot of this.#slots.values()) {
      const provider = slot.provider;
      if (provider === undefined || provider.run === undefined) continue;
      if (slot.running || (slot.nextRunAtMs !== undefined && now < slot.nextRunAtMs)) {
        skipped.push(slot.type);
        continue;
      }
      rounds.push(
        this.#runOne(slot, provider).then((outcome) => {
          if (!outcome.ok) failed.push({ type: slot.type, message: outcome.message });
          else if (outcome.value) changed.push(slot.type);
        }),
      );
    }
    await Promise.all(rounds);
    return { changed, failed, skipped };
  }

  /** Unregisters every provider, calling each `destroy()`; failures are logged, never thrown. */
  async destroyAll(): Promise<void> {
    const slots = [...this.#slots.values()];
    this.#slots.clear();
    await Promise.all(slots.map((slot) => this.#destroy(slot)));
  }

  async #runOne(slot: Slot, provider: PlugProvider): Promise<Outcome<boolean>> {
    slot.running = true;
    this.#notifyRunActivity(slot.type, true);
    const call: { settled?: Promise<void> } = {};
    const outcome = await this.#withTimeLimit(
      () => {
        const result = provider.run?.() ?? false;
        call.settled = Promise.resolve(result).then(
          () => undefined,
          () => undefined,
        );
        return result;
      },
      this.#runTimeoutMs,
      'run()',
    );
    // A timed-out run() stays "running" until it settles, so calls never stack up on a hung provider.
    const idle = (call.settled ?? Promise.resolve()).then(() => {
      slot.running = false;
      this.#notifyRunActivity(slot.type, false);
    });
    if (outcome.ok || outcome.timedOut !== true) await idle;
    const value: unknown = outcome.ok ? outcome.value : undefined;
    let checked: Outcome<boolean>;
    if (!outcome.ok) checked = outcome;
    else if (typeof value === 'boolean') checked = { ok: true, value };
    else
      checked = {
        ok: false,
        message: `run() returned ${JSON.stringify(value) ?? String(value)}, not a boolean`,
      };
    const wasFailing = slot.lastRunError !== undefined;
    if (checked.ok) {
      slot.consecutiveFailures = 0;
      slot.lastRunError = undefined;
      slot.nextRunAtMs = undefined;
    } else {
      slot.consecutiveFailures += 1;
      slot.lastRunError = checked.message;
      const delay = Math.min(
        this.#backoffMaxMs,
        this.#backoffInitialMs * 2 ** (slot.consecutiveFailures - 1),
      );
      slot.nextRunAtMs = this.#clock.now() + delay;
      this.#logger.warn(
        {
          provider: slot.type,
          error: checked.message,
          consecutiveFailures: slot.consecutiveFailures,
          retryInMs: delay,
        },
        'provider run() failed',
      );
    }
    if (wasFailing !== !checked.ok && this.#slots.get(slot.type) === slot) this.#notifyRunHealth(slot.type);
    return checked;
  }

  #notifyRunHealth(type: string): void {
    try {
      this.#onRunHealthChange?.(type);
    } catch (error) {
      this.#logger.warn({ provider: type, err: error }, 'onRunHealthChange callback threw');
    }
  }

  #notifyRunActivity(type: string, running: boolean): void {
    try {
      this.#onRunActivity?.(type, running);
    } catch (error) {
      this.#logger.warn({ provider: type, err: error }, 'onRunActivity callback threw');
    }
  }

  async #destroy(slot: Slot): Promise<void> {
    const provider = slot.provider;
    slot.provider = undefined;
    slot.unavailableReason = 'unregistered';
    if (provider?.destroy === undefined) return;
    const outcome = await this.#withTimeLimit(
      () => provider.destroy?.(),
      this.#lifecycleTimeoutMs,
      'destroy()',
    );
    if (!outcome.ok)
      this.#logger.warn({ provider: slot.type, error: outcome.message }, 'provider destroy() failed');
  }

  /** Runs `call`, turning a throw, a rejection or exceeding `limitMs` into a failed outcome. */
  #withTimeLimit<T>(call: () => T | Promise<T>, limitMs: number, what: string): Promise<Outcome<T>> {
    return new Promise((resolve) => {
      let done = false;
      const timer = this.#timers.setTimer(() => {
        if (done) return;
        done = true;
        resolve({ ok: false, message: `${what} did not finish within ${limitMs} ms`, timedOut: true });
      }, limitMs);
      const finish = (outcome: Outcome<T>): void => {
        if (done) return;
        done = true;
        timer.cancel();
        resolve(outcome);
      };
      let result: T | Promise<T>;
      try {
        result = call();
      } catch (error) {
        finish({ ok: false, message: `${what} threw: ${describeError(error)}` });
        return;
      }
      Promise.resolve(result).then(
        (value) => finish({ ok: true, value }),
        (error: unknown) => finish({ ok: false, message: `${what} rejected: ${describeError(error)}` }),
      );
    });
  }
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(
      `ProviderRegistry option ${name} must be a positive number of milliseconds, got ${value}`,
    );
  }
  return value;
}

/** `available` matches what {@link ProviderRegistry.lookup} answers the planner for the type. */
function stateOf(slot: Slot): ProviderState {
  const registered = slot.provider !== undefined;
  const available = registered && slot.lastRunError === undefined;
  const reason = registered ? slot.lastRunError : slot.unavailableReason;
  return {
    type: slot.type,
    available,
    ...(reason !== undefined ? { reason } : {}),
    consecutiveFailures: slot.consecutiveFailures,
    ...(slot.nextRunAtMs !== undefined ? { nextRunAtMs: slot.nextRunAtMs } : {}),
    running: slot.running,
  };
}
