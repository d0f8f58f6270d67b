/**
 * The mass-removal guard (DESIGN §3.4): a round that would unplug many owned ports at once is
 * more likely a Southbound DB that was emptied or restored from an old backup than an operator's
 * intent, and ovn-northd refills such a DB within seconds. Such a round is held for a grace period
 * and reported; when the grace period ends the planner decides afresh, so only ports that are
 * *still* unwanted go.
 */

export interface RemovalHoldPolicy {
  /** A round is "mass" when it removes more than this share of the owned ports (0 < share ≤ 1)… */
  readonly share: number;
  /** …and at least this many ports (small deployments unplug single ports without delay). */
  readonly minCount: number;
  readonly graceMs: number;
}

export interface RemovalHold {
  readonly sinceMs: number;
  readonly untilMs: number;
}

export interface RemovalHoldDecision {
  /** Carry out the removals of this round. */
  readonly proceed: boolean;
  /** The hold in force after this decision (undefined: none). */
  readonly hold?: RemovalHold;
}

/**
 * Decides whether this round's removals (`removals` of `owned` owned ports, counting only ports
 * that are no longer wanted) go ahead. While a hold is in force every removal waits, including
 * ones that alone would not have triggered it, so that a DB being refilled cannot slip removals
 * through in small rounds.
 */
export function decideRemovalHold(removals: number, owned: number, policy: RemovalHoldPolicy, nowMs: number, current?: RemovalHold): RemovalHoldDecision {
  if (removals === 0) return { proceed: true };
  if (current !== undefined) {
    return nowMs >= current.untilMs ? { proceed: true } : { proceed: false, hold: current };
  }
  const isMass = policy.graceMs > 0 && removals >= policy.minCount && removals > policy.share * owned;
  if (!isMass) return { proceed: true };
  return { proceed: false, hold: { sinceMs: nowMs, untilMs: nowMs + policy.graceMs } };
}
