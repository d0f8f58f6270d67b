/**
 * Time, injected: the registry reads the clock for backoff and arms timers for time limits, so
 * tests can drive both without real waiting.
 */

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export interface Timer {
  cancel(): void;
}

export interface Timers {
  /** Calls `callback` once after `delayMs`, unless cancelled first. */
  setTimer(callback: () => void, delayMs: number): Timer;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Real timers that do not keep the process alive on their own. */
export const systemTimers: Timers = {
  setTimer(callback, delayMs) {
    const handle = setTimeout(callback, delayMs);
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
};
