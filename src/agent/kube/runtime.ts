/**
 * The two pieces of the outside world every Kubernetes sink needs injected: a clock with timers
 * (so tests can step time) and a logger. Both are the runtime contract's (src/plug/runtime.ts);
 * the names stay for the sinks' callers.
 */
import {
  noopLogger,
  systemClock as wallClock,
  systemTimers,
  type Clock as WallClock,
  type Logger,
  type Timers,
} from '../../plug/index.js';

export type { Timer } from '../../plug/index.js';

/** Time source and timers in one object. */
export type Clock = WallClock & Timers;

/**
 * The real clock. Its timers never keep a stopping process alive (a pending status write must
 * not), and look the globals up on every call so that test fake timers apply.
 */
export const systemClock: Clock = {
  now: () => wallClock.now(),
  setTimer: (cb, ms) => systemTimers.setTimer(cb, ms),
};

export type KubeLogger = Logger;

/** A logger that drops everything; the default when none is injected. */
export const silentLogger: KubeLogger = noopLogger;

/** ISO-8601 with second precision, the form Kubernetes stores in `metav1.Time`. */
export function kubeTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
