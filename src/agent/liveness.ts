/**
 * Liveness means progress (DESIGN §5, ADR 0106): `/healthz` fails when the agent itself is wedged,
 * i.e. some of its work has been pending with no progress for longer than a bound, and never
 * because a database is unreachable or stalled (that is readiness and a reported state).
 *
 * The monitor is pure bookkeeping on an injected clock: it is told when a piece of work becomes
 * pending, when it makes progress and when it is done, and answers {@link Liveness.report}. Work
 * is named by the caller; each piece carries how long it may legitimately wait on a database
 * (`waitAllowanceMs`), which is not counted as a stall. The composition root feeds it from the
 * reconciler ({@link reconcilerLivenessSink}) and from the provider registry's `run()` calls.
 */

/** `--liveness-stall` default: see ADR 0106 for why a minute. */
export const DEFAULT_LIVENESS_STALL_MS = 60_000;

export interface LivenessOptions {
  /** Longest time pending work may go without progress before the agent counts as wedged. */
  readonly stallMs: number;
  readonly now: () => number;
}

export interface PendingOptions {
  /**
   * Time the work may spend waiting on a database before stall time starts counting, because a
   * database client bounds that wait itself (e.g. its transaction time limit).
   */
  readonly waitAllowanceMs?: number;
  /** What the work waits on during the allowance, for the report (e.g. `OVS DB`). */
  readonly waitingOn?: string;
}

/** One piece of pending work as reported. */
export interface PendingWork {
  readonly work: string;
  /** When it became pending or last made progress (ms since epoch). */
  readonly sinceMs: number;
  /** Time counted as a stall so far (0 within the wait allowance). */
  readonly stalledMs: number;
  readonly waitingOn?: string;
}

export interface LivenessReport {
  readonly ok: boolean;
  /** One sentence per stalled piece of work: which, since when, for how long. */
  readonly problems: readonly string[];
  readonly pending: readonly PendingWork[];
}

interface Entry {
  sinceMs: number;
  readonly waitAllowanceMs: number;
  readonly waitingOn: string | undefined;
}

export class Liveness {
  readonly #o: LivenessOptions;
  readonly #work = new Map<string, Entry>();

  constructor(options: LivenessOptions) {
    if (!Number.isFinite(options.stallMs) || options.stallMs <= 0)
      throw new RangeError(`stallMs must be a positive number of milliseconds, got ${options.stallMs}`);
    this.#o = options;
  }

  get stallMs(): number {
    return this.#o.stallMs;
  }

  /**
   * `work` is pending from now. Already pending: nothing changes, so a burst of requests for the
   * same work cannot hide that the first one was never served.
   */
  pending(work: string, options: PendingOptions = {}): void {
    if (this.#work.has(work)) return;
    this.#work.set(work, {
      sinceMs: this.#o.now(),
      waitAllowanceMs: options.waitAllowanceMs ?? 0,
      waitingOn: options.waitingOn,
    });
  }

  /** `work` made progress but is not done: its clock (and wait allowance) starts again. */
  progress(work: string): void {
    const entry = this.#work.get(work);
    if (entry !== undefined) entry.sinceMs = this.#o.now();
  }

  done(work: string): void {
    this.#work.delete(work);
  }

  isPending(work: string): boolean {
    return this.#work.has(work);
  }

  healthy(nowMs: number): boolean {
    return this.report(nowMs).ok;
  }

  report(nowMs: number): LivenessReport {
    const pending: PendingWork[] = [];
    const problems: string[] = [];
    for (const [work, entry] of this.#work) {
      const stalledMs = Math.max(0, nowMs - entry.sinceMs - entry.waitAllowanceMs);
      pending.push({
        work,
        sinceMs: entry.sinceMs,
        stalledMs,
        ...(entry.waitingOn === undefined ? {} : { waitingOn: entry.waitingOn }),
      });
      if (stalledMs > this.#o.stallMs) {
        const allowance =
          entry.waitAllowanceMs > 0
            ? ` (beyond the ${formatSeconds(entry.waitAllowanceMs)} it may wait on ${entry.waitingOn ?? 'a database'})`
            : '';
        problems.push(
          `wedged: ${work} pending since ${new Date(entry.sinceMs).toISOString()} with no progress for ` +
            `${formatSeconds(nowMs - entry.sinceMs)}${allowance}; the bound is ${formatSeconds(this.#o.stallMs)}`,
        );
      }
    }
    return { ok: problems.length === 0, problems, pending };
  }
}

/** What the reconciler reports about its own progress (`ReconcilerOptions.onLiveness`). */
export type ReconcilerLivenessEvent =
  /** A round was asked for (a change, a timer, a provider, an outcome…). */
  | 'requested'
  /** A round starts: it serves every request made before it. */
  | 'round'
  /** An OVS transaction was sent. */
  | 'sent'
  /** That transaction's outcome arrived (any outcome, `unknown` included). */
  | 'outcome';

export const ROUND_WORK = 'reconcile round';
export const TRANSACTION_WORK = 'OVS transaction';

/**
 * Maps reconciler events onto the monitor. While a transaction is in flight the reconciler runs
 * no round by design (one transaction at a time) and its outcome always asks for the next one, so
 * requests made meanwhile are not pending rounds: the transaction is the pending work, and it may
 * wait on the OVS DB for `transactionWaitMs` (the OVSDB client's transaction time limit, after
 * which it reports `unknown`) before stall time counts.
 */
export function reconcilerLivenessSink(
  liveness: Liveness,
  transactionWaitMs: number,
): (event: ReconcilerLivenessEvent) => void {
  return (event) => {
    switch (event) {
      case 'requested':
        if (!liveness.isPending(TRANSACTION_WORK)) liveness.pending(ROUND_WORK);
        return;
      case 'round':
        liveness.done(ROUND_WORK);
        return;
      case 'sent':
        liveness.pending(TRANSACTION_WORK, { waitAllowanceMs: transactionWaitMs, waitingOn: 'the OVS DB' });
        return;
      case 'outcome':
        liveness.done(TRANSACTION_WORK);
        return;
    }
  };
}

/** The name under which a provider's outstanding `run()` call is tracked. */
export function providerRunWork(type: string): string {
  return `provider "${type}" run() (the tables its prepare() answers from)`;
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
