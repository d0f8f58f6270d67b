/**
 * The mass-removal guard (DESIGN §3.4): a removal round that would unplug more than a share of
 * the owned ports at once is held for a grace period, and goes ahead only if the ports are still
 * unwanted afterwards. It protects against an emptied or restored Southbound DB, which
 * ovn-northd refills within seconds. This function is the share rule (and, given `heldSinceMs`,
 * a single round-wide deadline); the agent's reconciler asks it only whether a round exceeds the
 * share, and times the grace per port itself (a port unwanted for a moment when another port's
 * grace ends must wait its own). Because every round replans from the current state, ports wanted
 * again during the hold simply drop out of the removal set.
 */

export interface RemovalHoldInput {
  /** Ports this round would unplug (`plan.remove.length`; replugs are not unplugs). */
  readonly removeCount: number;
  /** Owned interfaces on the integration bridge (`plan.ownedCount`). */
  readonly ownedCount: number;
  /** Largest share (0…1) of owned ports removed without a hold. */
  readonly share: number;
  /** How long a hold lasts; DESIGN default 60 s. */
  readonly graceMs: number;
  /** Rounds removing fewer ports than this never hold (1: the DESIGN rule as written). */
  readonly minimumCount?: number;
  readonly nowMs: number;
  /** When the current hold started, if one is running. */
  readonly heldSinceMs?: number;
}

export type RemovalHoldDecision =
  /** Remove now; the reconciler forgets any hold. */
  | { readonly kind: 'proceed'; readonly reason: 'belowShare' | 'graceExpired' }
  /** Keep the removals out of this round's transaction and report the hold. */
  | { readonly kind: 'hold'; readonly heldSinceMs: number; readonly untilMs: number; readonly count: number };

/** Decides whether this round's removals go ahead or are held. Pure. */
export function decideRemovalHold(input: RemovalHoldInput): RemovalHoldDecision {
  const { removeCount, ownedCount, share, graceMs, nowMs } = input;
  if (!(share >= 0 && share <= 1)) throw new RangeError(`removal share must be within 0..1, got ${share}`);
  if (!(graceMs >= 0)) throw new RangeError(`removal grace must be >= 0 ms, got ${graceMs}`);
  const minimumCount = input.minimumCount ?? 1;
  if (removeCount < minimumCount || removeCount <= share * ownedCount) {
    return { kind: 'proceed', reason: 'belowShare' };
  }
  const heldSinceMs = input.heldSinceMs ?? nowMs;
  const untilMs = heldSinceMs + graceMs;
  if (nowMs >= untilMs) return { kind: 'proceed', reason: 'graceExpired' };
  return { kind: 'hold', heldSinceMs, untilMs, count: removeCount };
}
