/**
 * The removal guard (DESIGN §3.4, revised 2026-12-02): decides, per owned port that is no longer
 * wanted, whether its removal goes now or is held for a grace period, and whether a wanted port
 * may take over an interface that an unwanted owned port still holds.
 *
 * Its only job is to survive a Southbound DB that lost our port bindings without the CMS meaning
 * it (an emptied DB, a DB restored from an old backup, a wrong cluster), which ovn-northd refills
 * within seconds, on a node of any size — without ever delaying ordinary CMS work. What tells the
 * two apart is not how many ports go but *how the agent learned* that they are unwanted:
 *
 * - within a Southbound *session* that stayed monitored (case 1), a port that was wanted and is
 *   not any more was deleted, moved or withdrawn by the CMS: it goes at once, unless the round
 *   removes more than `share` of the owned ports and at least `minCount` of them;
 * - an owned interface that appears through OVS for a port the SB does not want, while the SB
 *   session is established (case 4, a stale leftover), goes at once too;
 * - a port found unwanted in the first view of a new session — after a reconnect, resync,
 *   `monitor_cond_since` resume, monitor cancellation, leader change, a new database identity
 *   (case 2), a new Chassis row or system-id (case 3), or the agent's own start (case 5) — is held
 *   for the grace, whatever the count, and goes only if it stays unwanted for the whole grace.
 *
 * A session begins with every (re)sync the Southbound client reports and with every change of our
 * own monitor condition; its *first view* is the first round that sees the SB with the session's
 * condition in effect. Everything observed before or in that round comes from a fresh sync;
 * everything observed after it arrived within the session.
 *
 * The same distinction decides take-overs: a wanted port whose request arrived within the current
 * session may take an interface that a held (or otherwise lingering) unwanted port holds — the
 * everyday VF reuse, one replug now — while a request that itself came with a fresh sync (e.g. an
 * old port from a restored backup claiming a VF a live VM uses) waits for the grace like the
 * removal it would cause.
 *
 * The guard is deterministic: it holds state across rounds but does no I/O and reads no clock; the
 * reconciler tells it about sessions and calls {@link RemovalGuard.review} once per planning round.
 */

/** Tunables (flags `--mass-removal-share`, `--mass-removal-min-ports`, `--mass-removal-grace`). */
export interface RemovalGuardPolicy {
  /** Case 1: rounds removing more than this share of the owned ports (0 < share ≤ 1)… */
  readonly share: number;
  /** …and at least this many ports are held. */
  readonly minCount: number;
  /** How long a held removal waits; DESIGN default 60 s. */
  readonly graceMs: number;
}

/** DESIGN default minimum: deleting a handful of VMs at once is never held. */
export const DEFAULT_REMOVAL_MIN_COUNT = 8;

/** Why a session began (and so why removals first seen in its sync are held). */
export type SessionCause =
  /** The agent started (case 5). */
  | 'startup'
  /** The Southbound client reconnected, resynced or re-monitored (case 2). */
  | 'resync'
  /** Our monitor condition changed: new Chassis row or system-id (case 3). */
  | 'identity';

/** Why a removal is held. */
export type HoldCause = SessionCause | 'massRemoval';

export interface HeldRemoval {
  readonly cause: HoldCause;
  readonly sinceMs: number;
  readonly untilMs: number;
}

/** One round's view, given to {@link RemovalGuard.review}. */
export interface RemovalRound {
  readonly nowMs: number;
  /** The Southbound replica is monitoring with the current session's condition in effect. */
  readonly sbInEffect: boolean;
  /**
   * Logical ports wanted here this round. The same object handed again (the planner's, while the
   * wanted ports are the same) holds the same ports as when it was handed before.
   */
  readonly wanted: Iterable<string>;
  /**
   * How `wanted` differs from the wanted ports of an earlier round (`from`, the object handed
   * then): with it, a guard that reviewed `from` last only looks at the ports that came and went.
   */
  readonly wantedChange?: WantedChange;
  /** Logical ports with an owned interface on the integration bridge that are not wanted. */
  readonly unwanted: Iterable<string>;
  /** Owned interfaces on the integration bridge. */
  readonly ownedCount: number;
}

/** Logical ports, as a set the guard can ask. */
export interface NameSet extends Iterable<string> {
  has(name: string): boolean;
}

/** The wanted ports that came and went since the round that handed `from`. */
export interface WantedChange {
  readonly from: NameSet;
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

/** The guard's answer for one round. */
export interface RemovalReview {
  /** Unwanted ports whose removal must not happen in this round. */
  readonly held: ReadonlyMap<string, HeldRemoval>;
  /** Whether this wanted port may take over an interface an unwanted owned port holds. */
  mayTakeOver(logicalPort: string): boolean;
}

/** An unwanted port as the guard remembers it. */
interface UnwantedPort {
  readonly sinceMs: number;
  /** Undefined: not held (case 1 below the share, case 4). */
  readonly cause: HoldCause | undefined;
}

/** A wanted port: in which session it was last seen, and whether its request arrived within it. */
interface WantedPort {
  readonly session: number;
  readonly arrivedWithin: boolean;
}

export class RemovalGuard {
  readonly #policy: RemovalGuardPolicy;
  #session = 0;
  #cause: SessionCause = 'startup';
  /** The current session's first view is still to come. */
  #syncPending = true;
  readonly #unwanted = new Map<string, UnwantedPort>();
  readonly #wanted = new Map<string, WantedPort>();
  /** The wanted set of the last review and what it was recorded under. */
  #lastWantedView:
    { readonly wanted: NameSet; readonly session: number; readonly withinSession: boolean } | undefined;

  constructor(policy: RemovalGuardPolicy) {
    if (!(policy.share > 0 && policy.share <= 1))
      throw new RangeError(`removal share must be within (0, 1], got ${policy.share}`);
    if (!(policy.graceMs >= 0)) throw new RangeError(`removal grace must be >= 0 ms, got ${policy.graceMs}`);
    if (!(Number.isInteger(policy.minCount) && policy.minCount >= 1))
      throw new RangeError(`removal minimum must be a whole number >= 1, got ${policy.minCount}`);
    this.#policy = policy;
  }

  get policy(): RemovalGuardPolicy {
    return this.#policy;
  }

  /** The current session number (starts at 0 with the agent). */
  get session(): number {
    return this.#session;
  }

  /**
   * A new Southbound session begins: the next view that has its condition in effect is a fresh
   * sync. A session that has not had its first view yet keeps `startup` as its cause.
   */
  beginSession(cause: SessionCause): void {
    const keepStartup = this.#syncPending && this.#cause === 'startup';
    this.#session += 1;
    this.#cause = keepStartup ? 'startup' : cause;
    this.#syncPending = true;
  }

  /** Classifies this round's unwanted ports and wanted requests; call once per planning round. */
  review(round: RemovalRound): RemovalReview {
    const { nowMs } = round;
    const withinSession = round.sbInEffect && !this.#syncPending;

    const wanted: NameSet = isNameSet(round.wanted) ? round.wanted : new Set(round.wanted);
    const last = this.#lastWantedView;
    const sameContext = last?.session === this.#session && last.withinSession === withinSession;
    this.#lastWantedView = { wanted, session: this.#session, withinSession };
    if (sameContext && last.wanted === wanted) {
      // The same ports as last round: nothing new to record.
    } else if (sameContext && round.wantedChange?.from === last.wanted) {
      // After a review in this session every wanted port is recorded with it: only the ports
      // that came and went need a look.
      for (const name of round.wantedChange.removed) this.#wanted.delete(name);
      for (const name of round.wantedChange.added)
        if (!this.#wanted.has(name))
          this.#wanted.set(name, { session: this.#session, arrivedWithin: withinSession });
    } else {
      for (const name of this.#wanted.keys()) if (!wanted.has(name)) this.#wanted.delete(name);
      for (const name of wanted) {
        const seen = this.#wanted.get(name);
        if (seen === undefined)
          this.#wanted.set(name, { session: this.#session, arrivedWithin: withinSession });
        else if (seen.session !== this.#session)
          this.#wanted.set(name, { session: this.#session, arrivedWithin: false });
      }
    }

    const unwanted = new Set(round.unwanted);
    for (const name of this.#unwanted.keys()) if (!unwanted.has(name)) this.#unwanted.delete(name);
    const fresh: string[] = [];
    for (const name of unwanted) if (!this.#unwanted.has(name)) fresh.push(name);
    let freshCause: HoldCause | undefined = withinSession ? undefined : this.#cause;
    const { share, minCount, graceMs } = this.#policy;
    if (withinSession && fresh.length >= minCount && fresh.length > share * round.ownedCount)
      freshCause = 'massRemoval';
    for (const name of fresh) this.#unwanted.set(name, { sinceMs: nowMs, cause: freshCause });

    const held = new Map<string, HeldRemoval>();
    for (const [name, port] of this.#unwanted) {
      if (port.cause === undefined) continue;
      const untilMs = port.sinceMs + graceMs;
      if (nowMs < untilMs) held.set(name, { cause: port.cause, sinceMs: port.sinceMs, untilMs });
    }

    if (round.sbInEffect) this.#syncPending = false;
    const session = this.#session;
    const arrivals = this.#wanted;
    return {
      held,
      mayTakeOver: (logicalPort) => {
        const seen = arrivals.get(logicalPort);
        return seen !== undefined && seen.session === session && seen.arrivedWithin;
      },
    };
  }
}

/** Operator-facing words for a hold's cause (status messages, logs). */
export function describeHoldCause(cause: HoldCause): string {
  switch (cause) {
    case 'startup':
      return 'found unwanted at agent start (a deletion while the agent was down cannot be told from an emptied Southbound DB)';
    case 'resync':
      return 'missing after a Southbound reconnect or resync (an emptied or restored DB is refilled by ovn-northd)';
    case 'identity':
      return 'missing after this chassis identity or monitor condition changed';
    case 'massRemoval':
      return 'removed with more than the mass-removal share of owned ports in one round';
  }
}

function isNameSet(names: Iterable<string>): names is NameSet {
  return typeof (names as Partial<NameSet>).has === 'function';
}
