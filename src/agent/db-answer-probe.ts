/**
 * Notices a database that is connected but does not answer (a SIGSTOPped or overloaded
 * ovsdb-server), which the OVSDB client cannot see on a unix socket: OVS's inactivity probe is
 * off there, so the client stays `monitoring` for as long as the server is frozen. The probe sends
 * an `echo` every interval while the client is monitoring; a database that has left one
 * unanswered for `stalledAfterMs` is *stalled*. That is a readiness matter and a reported state
 * (`DbStatus.unansweredSinceMs`), never a liveness failure (ADR 0106).
 */
import type { Timer, Timers } from '../plug/index.js';

export interface DbAnswerProbeOptions {
  /** Sends one `echo` on the current connection; rejects when it cannot or times out. */
  readonly echo: () => Promise<unknown>;
  /** The client is monitoring (otherwise its state already says why it is not ready). */
  readonly connected: () => boolean;
  readonly intervalMs: number;
  /** Unanswered this long: stalled. */
  readonly stalledAfterMs: number;
  readonly now: () => number;
  readonly timers: Timers;
}

export const DB_ANSWER_PROBE_INTERVAL_MS = 5_000;
export const DB_STALLED_AFTER_MS = 10_000;

export class DbAnswerProbe {
  readonly #o: DbAnswerProbeOptions;
  #timer: Timer | undefined;
  #stopped = false;
  #inFlight = false;
  /** When the oldest echo not followed by any answer was sent. */
  #unansweredSinceMs: number | undefined;

  constructor(options: DbAnswerProbeOptions) {
    this.#o = options;
  }

  start(): void {
    this.#arm();
  }

  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
  }

  /** Since when the database has not answered, once that is longer than `stalledAfterMs`. */
  stalledSinceMs(nowMs: number): number | undefined {
    const since = this.#unansweredSinceMs;
    return since !== undefined && nowMs - since >= this.#o.stalledAfterMs ? since : undefined;
  }

  /** One probe step (exposed for tests; the timer calls it every interval). */
  tick(): void {
    if (this.#stopped) return;
    if (!this.#o.connected()) {
      // A new connection starts with a clean slate; the client's state reports the outage.
      this.#unansweredSinceMs = undefined;
      return;
    }
    // One echo at a time: a frozen server is not sent a queue of them.
    if (this.#inFlight) return;
    this.#inFlight = true;
    this.#unansweredSinceMs ??= this.#o.now();
    let echo: Promise<unknown>;
    try {
      echo = this.#o.echo();
    } catch {
      echo = Promise.reject(new Error('echo threw'));
    }
    echo.then(
      () => {
        this.#inFlight = false;
        this.#unansweredSinceMs = undefined;
      },
      () => {
        // Timed out or the connection went: still unanswered; the next tick asks again (or
        // clears this once the client reports it is no longer connected).
        this.#inFlight = false;
      },
    );
  }

  #arm(): void {
    if (this.#stopped) return;
    this.#timer = this.#o.timers.setTimer(() => {
      this.tick();
      this.#arm();
    }, this.#o.intervalMs);
  }
}
