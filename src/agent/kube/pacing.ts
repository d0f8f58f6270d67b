/**
 * Pacing for API writes: a token bucket (steady rate with bursts) and capped exponential
 * backoff. Both are pure arithmetic over an injected clock.
 */
import type { Clock } from './runtime.js';

export interface TokenBucketOptions {
  /** Sustained writes per second; must be > 0. */
  readonly ratePerSecond: number;
  /** How many writes may go out back to back after a quiet period; must be ≥ 1. */
  readonly burst: number;
  readonly clock: Clock;
}

/**
 * A token bucket. {@link reserve} always succeeds and says how long the caller must wait before
 * its write may go out, so waiting callers queue up in order without polling.
 */
export class TokenBucket {
  readonly #ratePerMs: number;
  readonly #burst: number;
  readonly #clock: Clock;
  #tokens: number;
  #updatedMs: number;

  constructor(options: TokenBucketOptions) {
    if (!(options.ratePerSecond > 0) || !Number.isFinite(options.ratePerSecond)) {
      throw new RangeError(`token bucket rate must be a positive number, got ${options.ratePerSecond}`);
    }
    if (!Number.isInteger(options.burst) || options.burst < 1) {
      throw new RangeError(`token bucket burst must be an integer ≥ 1, got ${options.burst}`);
    }
    this.#ratePerMs = options.ratePerSecond / 1000;
    this.#burst = options.burst;
    this.#clock = options.clock;
    this.#tokens = options.burst;
    this.#updatedMs = options.clock.now();
  }

  /** Takes one token (possibly going into debt) and returns the wait in ms before using it. */
  reserve(): number {
    const now = this.#clock.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#updatedMs) * this.#ratePerMs);
    this.#updatedMs = now;
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : Math.ceil(-this.#tokens / this.#ratePerMs);
  }
}

export interface BackoffOptions {
  /** Delay after the first failure; default 1 s. */
  readonly initialMs?: number;
  /** Upper bound; default 60 s. */
  readonly maxMs?: number;
  /**
   * Share of the delay that is randomised (0 ≤ jitter ≤ 1), so that the agents of a whole cluster
   * do not retry in lockstep after an API server outage; default 0.2.
   */
  readonly jitter?: number;
  /** Uniform random number in [0, 1); default `Math.random`. */
  readonly random?: () => number;
}

/**
 * Delay before retry number `attempt` (1-based): initial × 2^(attempt−1), capped, then reduced
 * by up to `jitter` of itself at random.
 */
export function backoffDelayMs(attempt: number, options: BackoffOptions = {}): number {
  const initial = options.initialMs ?? 1000;
  const max = options.maxMs ?? 60_000;
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0.2));
  const base = Math.min(max, initial * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  return Math.round(base * (1 - jitter * (options.random ?? Math.random)()));
}

/** Resolves after `ms` on the injected clock. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => {
    clock.setTimer(resolve, ms);
  });
}
