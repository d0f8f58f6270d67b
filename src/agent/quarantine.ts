/**
 * Quarantine: ports whose OVS transaction failed are set aside with exponential backoff, so that
 * one bad port cannot starve the others, and keep showing the server's error verbatim until their
 * work succeeds or is no longer needed. When an error could not be attributed to one operation (a
 * commit-time constraint violation), the ports of that transaction are retried one per
 * transaction, to find the culprit.
 */
import type { TxnOutcome } from '../ovsdb/index.js';
import type { Clock, Plan } from '../plug/index.js';
import type { RateLimitedLog } from './logger.js';
import type { WorkItem } from './ovs-writer.js';

export interface QuarantinePolicy {
  /** Backoff after the first failure, doubled per further failure. */
  readonly baseMs: number;
  readonly maxMs: number;
}

export const DEFAULT_QUARANTINE_POLICY: QuarantinePolicy = { baseMs: 1_000, maxMs: 30_000 };

interface Entry {
  readonly message: string;
  readonly untilMs: number;
  readonly failures: number;
  /** Retry alone: the error could not be attributed to one operation. */
  readonly isolate: boolean;
}

/** This round's work after quarantine. */
export interface Selection {
  readonly chosen: WorkItem[];
  /** Work left out this round (its ready answers are to be released). */
  readonly skipped: WorkItem[];
  /** When the earliest skipped port's backoff ends. */
  readonly wakeAtMs?: number;
  /** True when one set-aside port is retried alone: the rest waits for another round at once. */
  readonly isolating: boolean;
}

export class Quarantine {
  readonly #entries = new Map<string, Entry>();

  constructor(
    private readonly clock: Clock,
    private readonly log: RateLimitedLog,
    private readonly policy: QuarantinePolicy = DEFAULT_QUARANTINE_POLICY,
  ) {}

  /** The error a port's last transaction failed with, while it is set aside. */
  errorOf(logicalPort: string): string | undefined {
    return this.#entries.get(logicalPort)?.message;
  }

  /**
   * Chooses this round's work: everything except quarantined ports (a quarantined removal never
   * blocks a wanted port that needs its name, DESIGN §3.4); when a quarantined port must be
   * retried alone and its backoff ended, only that port.
   */
  select(plan: Plan, work: readonly WorkItem[]): Selection {
    const now = this.clock.now();
    // A created Port is named after its Interface.
    const claimed = new Set([...plan.create, ...plan.replug].map((c) => c.interface.name));
    const unblocks = new Set(
      plan.remove.filter((r) => claimed.has(r.interfaceName)).map((r) => r.logicalPort),
    );
    let isolated: string | undefined;
    let wakeAtMs: number | undefined;
    const chosen: WorkItem[] = [];
    const skipped: WorkItem[] = [];
    for (const item of work) {
      const q = this.#entries.get(item.logicalPort);
      if (q !== undefined && now < q.untilMs && !(item.kind === 'remove' && unblocks.has(item.logicalPort))) {
        skipped.push(item);
        wakeAtMs = Math.min(wakeAtMs ?? q.untilMs, q.untilMs);
        continue;
      }
      if (q?.isolate === true && isolated === undefined) isolated = item.logicalPort;
      chosen.push(item);
    }
    const base = wakeAtMs === undefined ? {} : { wakeAtMs };
    if (isolated === undefined) return { chosen, skipped, ...base, isolating: false };
    skipped.push(...chosen.filter((w) => w.logicalPort !== isolated));
    return { chosen: chosen.filter((w) => w.logicalPort === isolated), skipped, ...base, isolating: true };
  }

  /**
   * Sets aside the ports of a failed transaction (`error` or `notLocked`) with the server's error
   * verbatim: `culprit` alone when the error names its operation, else every port of `work` (to be
   * retried one by one when there were several).
   */
  fail(work: readonly WorkItem[], culprit: string | undefined, outcome: TxnOutcome): void {
    const now = this.clock.now();
    const message =
      outcome.status !== 'error'
        ? 'not locked'
        : `${outcome.error}${outcome.details === undefined ? '' : `: ${outcome.details}`}`;
    const failed = culprit === undefined ? work.map((w) => w.logicalPort) : [culprit];
    for (const logicalPort of failed) {
      const failures = (this.#entries.get(logicalPort)?.failures ?? 0) + 1;
      const backoff = Math.min(this.policy.maxMs, this.policy.baseMs * 2 ** (failures - 1));
      this.#entries.set(logicalPort, {
        message,
        untilMs: now + backoff,
        failures,
        isolate: culprit === undefined && work.length > 1,
      });
      this.log.log(
        'warn',
        `txn:${logicalPort}`,
        { logicalPort, error: message, retryInMs: backoff },
        'OVS transaction failed for port',
      );
    }
  }

  /** The port's work committed: its error is history. */
  succeeded(logicalPort: string): void {
    this.#entries.delete(logicalPort);
  }

  /**
   * Forgets ports with nothing left to write (unchanged and not being removed) and ports that are
   * gone from the plan (deleted while set aside).
   */
  forgetSettled(plan: Plan): void {
    if (this.#entries.size === 0) return;
    const removing = new Set(plan.remove.map((r) => r.logicalPort));
    for (const u of plan.unchanged) if (!removing.has(u.logicalPort)) this.#entries.delete(u.logicalPort);
    const inPlan = new Set<string>();
    const lists = [
      plan.blocked,
      plan.observed,
      plan.create,
      plan.update,
      plan.replug,
      plan.unchanged,
      plan.remove,
    ];
    for (const list of lists) for (const entry of list) inPlan.add(entry.logicalPort);
    for (const r of plan.replug) inPlan.add(r.old.logicalPort);
    for (const h of plan.held) inPlan.add(h.logicalPort);
    for (const name of this.#entries.keys()) if (!inPlan.has(name)) this.#entries.delete(name);
  }
}
