/**
 * The two pieces of the outside world every Kubernetes sink needs injected: a clock (so tests
 * can step time) and a logger (pino-compatible subset, so `main.ts` passes a pino child).
 */

/** Timer handle as returned by {@link Clock.setTimeout}; opaque to callers. */
export type TimerHandle = object | number;

/** Time source and timers. The default delegates to the globals at call time. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock. It looks the globals up on every call so that test fake timers apply. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, delayMs) => {
    const handle = globalThis.setTimeout(callback, delayMs);
    // A pending status write must never keep a stopping process alive.
    handle.unref();
    return handle;
  },
  clearTimeout: (handle) => {
    globalThis.clearTimeout(handle as Parameters<typeof globalThis.clearTimeout>[0]);
  },
};

type LogMethod = (fields: Record<string, unknown>, message: string) => void;

/** The subset of pino's `Logger` the sinks use (object first, message second). */
export interface KubeLogger {
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
}

const ignore: LogMethod = () => undefined;

/** A logger that drops everything; the default when none is injected. */
export const silentLogger: KubeLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };

/** ISO-8601 with second precision, the form Kubernetes stores in `metav1.Time`. */
export function kubeTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
