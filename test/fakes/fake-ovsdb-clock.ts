/**
 * FAKE clock and timers for src/ovsdb (`OvsdbTimers` plus a `now` for OvsdbClient): time moves only
 * when a test calls `advance`, so timeouts, the inactivity probe and the reconnect backoff are
 * asserted to the millisecond without real waiting.
 *
 * `advance(ms)` fires due timers in time order, each at its own instant; after each it runs the
 * "after pending I/O" callbacks queued at that instant and lets pending promise callbacks run, so
 * async code that a timer starts (a reconnect, a handshake over a fake transport) gets as far as
 * it can before time moves on.
 */
import type { OvsdbTimer, OvsdbTimers } from '../../src/ovsdb/index.js';

/** Bounds {@link FakeOvsdbClock.runIo}: more batches of "after pending I/O" callbacks than this is a loop. */
const MAX_IO_BATCHES = 1_000;

interface Armed {
  readonly seq: number;
  readonly dueAt: number;
  readonly delayMs: number;
  readonly unref: boolean;
  readonly callback: () => void;
}

/** Lets every queued promise callback (and those they queue) run; no time passes on the clock. */
export async function flushPromises(): Promise<void> {
  // A macrotask turn runs only once the microtask queue is empty. Our fakes do no real I/O, so
  // nothing else can run in between.
  await new Promise<void>((resolve) => setImmediate(resolve));
}

export class FakeOvsdbClock implements OvsdbTimers {
  private nowMs: number;
  private seq = 0;
  private readonly armed = new Map<number, Armed>();
  private readonly io: (() => void)[] = [];
  /** Every timer ever armed: delay and whether it was unref'd (in arming order). */
  readonly history: { readonly at: number; readonly delayMs: number; readonly unref: boolean }[] = [];

  constructor(startMs = 0) {
    this.nowMs = startMs;
  }

  readonly now = (): number => this.nowMs;

  setTimer(callback: () => void, delayMs: number, options?: { readonly unref?: boolean }): OvsdbTimer {
    const seq = ++this.seq;
    const unref = options?.unref === true;
    const delay = Math.max(0, delayMs);
    this.armed.set(seq, { seq, dueAt: this.nowMs + delay, delayMs: delay, unref, callback });
    this.history.push({ at: this.nowMs, delayMs: delay, unref });
    return { cancel: () => void this.armed.delete(seq) };
  }

  afterPendingIo(callback: () => void): void {
    this.io.push(callback);
  }

  /** Timers armed and not yet fired or cancelled, soonest first. */
  pending(): { readonly dueAt: number; readonly delayMs: number; readonly unref: boolean }[] {
    return [...this.armed.values()]
      .sort((a, b) => a.dueAt - b.dueAt || a.seq - b.seq)
      .map(({ dueAt, delayMs, unref }) => ({ dueAt, delayMs, unref }));
  }

  /** Number of "after pending I/O" callbacks waiting. */
  get pendingIo(): number {
    return this.io.length;
  }

  /** Moves time forward by `ms`, firing what falls due (see the file header). */
  async advance(ms: number): Promise<void> {
    const target = this.nowMs + ms;
    await flushPromises();
    for (;;) {
      const next = this.nextDue(target);
      if (next === undefined) break;
      this.fire(next);
      await this.runIo();
    }
    this.nowMs = target;
    await this.runIo();
  }

  /** Advances to the next timer due and fires it, without running "after pending I/O" callbacks. */
  fireNext(): void {
    const next = this.nextDue(Number.POSITIVE_INFINITY);
    if (next === undefined) throw new Error('no timer armed');
    this.fire(next);
  }

  /**
   * Runs the "after pending I/O" callbacks queued so far (and the promise callbacks they start).
   * Throws when they keep queueing more for {@link MAX_IO_BATCHES} batches: with real time that
   * would be a busy loop, here it would hang the test.
   */
  async runIo(): Promise<void> {
    await flushPromises();
    for (let batches = 0; this.io.length > 0; batches += 1) {
      if (batches >= MAX_IO_BATCHES)
        throw new Error(
          `still queueing after ${String(MAX_IO_BATCHES)} batches of pending-I/O callbacks: a loop`,
        );
      const batch = this.io.splice(0);
      for (const callback of batch) callback();
      await flushPromises();
    }
  }

  private nextDue(limit: number): Armed | undefined {
    let next: Armed | undefined;
    for (const t of this.armed.values()) {
      if (t.dueAt > limit) continue;
      if (next === undefined || t.dueAt < next.dueAt || (t.dueAt === next.dueAt && t.seq < next.seq))
        next = t;
    }
    return next;
  }

  private fire(timer: Armed): void {
    this.armed.delete(timer.seq);
    this.nowMs = Math.max(this.nowMs, timer.dueAt);
    timer.callback();
  }
}
