/**
 * The runtime contract: the clock, timers and logger that src/plug, src/agent and src/providers
 * receive instead of reaching for globals, so that tests drive time and read logs without real
 * waiting. The composition root (src/agent/main.ts) passes the real ones; src/ovsdb keeps its own
 * narrower logger because it imports nothing from the project, and pino fits both.
 */

/** Wall-clock time. */
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

/** A subset of pino's logger (fields first, message second), so a pino logger or child fits as is. */
export interface Logger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

/** A logger that makes children bound to fields: what the composition root holds and hands out. */
export interface RootLogger extends Logger {
  child(bindings: Record<string, unknown>): RootLogger;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * Real timers that do not keep the process alive on their own. The globals are looked up at each
 * call, so test fake timers apply.
 */
export const systemTimers: Timers = {
  setTimer(callback, delayMs) {
    const handle = setTimeout(callback, delayMs);
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
};

const ignore = (): void => undefined;

/** Drops everything; the default where no logger is injected. */
export const noopLogger: RootLogger = {
  debug: ignore,
  info: ignore,
  warn: ignore,
  error: ignore,
  child: () => noopLogger,
};

/** Calls `callback` every `intervalMs`, each period starting after the previous call, until cancelled. */
export function repeat(timers: Timers, intervalMs: number, callback: () => void): Timer {
  let current: Timer | undefined;
  let cancelled = false;
  const arm = (): void => {
    current = timers.setTimer(() => {
      if (cancelled) return;
      callback();
      if (!cancelled) arm();
    }, intervalMs);
  };
  arm();
  return {
    cancel: () => {
      cancelled = true;
      current?.cancel();
    },
  };
}

/**
 * Runs `callback` in the check phase of this event-loop turn, after pending I/O (`setImmediate`,
 * which unlike a 0 ms timer adds no 1 ms clamp).
 */
export function deferToCheckPhase(callback: () => void): Timer {
  const handle = setImmediate(callback);
  return { cancel: () => clearImmediate(handle) };
}
