/**
 * The reconciler: keeps the integration bridge equal to what the Southbound DB asks of this
 * chassis, one OVS transaction at a time. This file holds the scheduling, the gates and the
 * dispatch of transaction outcomes; the rest is delegated (docs/adr/0103-reconciler-split.md).
 *
 * Model. Two replicas — the Southbound DB, its `Port_Binding` monitor limited to rows requesting
 * this chassis, and the local Open vSwitch DB. Their events say which rows changed; every round
 * asks the pure planner (src/plug) what to create, update, replug and remove, and the planner's
 * memo (plan-memo.ts) plans only the ports those rows belong to and those not steady yet; the
 * periodic resync, a reconnect and the start plan every port from every row. Being level-triggered
 * makes the reconciler indifferent to lost, duplicated or reordered notifications (a gap in the
 * updates makes the memo read every row again), to resyncs, and to the lag between a transaction
 * reply and the replica update that reflects it: the next round sees the world as it is.
 *
 * Rounds. Changes, provider `run()` reports, the resync timer and reconnects mark the reconciler
 * dirty; a round runs on the next turn of the event loop, so a burst of updates coalesces into one
 * round, and a round as long as the last one must pass before the next (duty-cycle cap). At most
 * ONE OVS transaction is in flight: rounds wait for it, and its outcome triggers the next round.
 *
 * Outcomes. `success`: providers' `finish()` then `release()`; the next round waits until the OVS
 * replica shows the commit, so a create is never planned twice. `tryAgain` (a verify failed, see
 * ovs-writer.ts): release, wait for the replica to move, replan. `error`: the failed ports are
 * quarantined (quarantine.ts) with the server's error verbatim. `unknown` (connection lost or timed
 * out in flight): never resent; the reconciler waits until the replica moves and plans from what it
 * shows; providers get `finish` then `release` if the replica shows the transaction's rows,
 * `release` only if not (ADR 0089).
 *
 * Safety (DESIGN §3.4). Nothing is removed until both replicas monitor and the Southbound condition
 * for the current Chassis row is in effect (chassis-tracker.ts); a port the removal guard holds
 * (src/plug/removal-guard.ts) stays until its grace ends; nothing is removed on the agent's exit.
 */
import type { ChangeBatch } from '../ovsdb/index.js';
import {
  deferToCheckPhase,
  PlanMemo,
  RemovalGuard,
  RemovalHoldLog,
  repeat,
  type Clock,
  type Plan,
  type Timer,
} from '../plug/index.js';
import { ChassisTracker } from './chassis-tracker.js';
import { RateLimitedLog } from './logger.js';
import type { ReplanTrigger } from './metrics.js';
import { logCommitted, OvsWriter, workOf, type WorkItem } from './ovs-writer.js';
import { answersOf, finishAnswers, releaseAnswers, runProviders, UnsureAnswers } from './provider-calls.js';
import { Quarantine } from './quarantine.js';
import type { ReconcilerOptions } from './reconciler-options.js';
import { ovsChangesOf, planRows, sbChangesOf } from './replica-rows.js';
import { inFlightPorts, StatusFacts, withInFlight, type InFlightPorts } from './status-facts.js';
import { StatusReporter } from './status-reporter.js';
import type { AgentStatus } from './status/index.js';

/** Why a round could not plan, shown on every port the agent owns meanwhile. */
type Gate =
  /** Until the replica shows the committed rows (inserted interfaces present, deleted ports gone). */
  | {
      readonly kind: 'afterCommit';
      readonly interfaces: readonly string[];
      readonly deletedPorts: readonly string[];
      readonly fromSeqno: number;
      readonly needsMove: boolean;
      readonly untilMs: number;
    }
  /** Until the replica applied anything new (after tryAgain or an unknown outcome). */
  | { readonly kind: 'replicaMoves'; readonly fromSeqno: number; readonly untilMs: number };

/** The transaction in flight: its ports (for status), its work (released by `stop()`) and its end. */
interface InFlight {
  readonly ports: InFlightPorts;
  readonly work: readonly WorkItem[];
  readonly done: Promise<void>;
}

const CATCH_UP_TIMEOUT_MS = 5_000;
const UNKNOWN_OUTCOME_WAIT_MS = 10_000;

export class Reconciler {
  readonly #o: ReconcilerOptions;
  readonly #monotonicNow: () => number;
  readonly #clock: Clock;
  readonly #rateLimited: RateLimitedLog;
  readonly #guard: RemovalGuard;
  /** What planning rounds reuse for unchanged ports and rows (src/plug PlanMemo). */
  readonly #memo = new PlanMemo();
  readonly #holds: RemovalHoldLog;
  readonly #chassis: ChassisTracker;
  readonly #writer: OvsWriter;
  readonly #quarantine: Quarantine;
  readonly #facts: StatusFacts;
  readonly #reporter: StatusReporter;
  readonly #abort = new AbortController();
  readonly #timers: Timer[] = [];
  readonly #listeners: (() => void)[] = [];
  readonly #triggers = new Set<ReplanTrigger>();
  #roundTimer: Timer | undefined;
  #wakeTimer: Timer | undefined;
  #wakeAtMs = 0;
  #inFlight: InFlight | undefined;
  /** Set by `stop()` once it released the answers of a transaction still in flight. */
  #abandoned = false;
  /** The answers of a transaction whose outcome was unknown, until the replica tells (ADR 0089). */
  readonly #unsure: UnsureAnswers;
  #gate: Gate | undefined;
  #started = false;
  #stopped = false;
  #earliestNextRound = 0;
  #rounds = 0;

  constructor(options: ReconcilerOptions) {
    const o = (this.#o = options);
    this.#monotonicNow = options.monotonicNow ?? (() => performance.now());
    this.#clock = { now: o.now };
    this.#rateLimited = new RateLimitedLog(o.logger, o.now);
    this.#guard = new RemovalGuard(o.removalHold);
    this.#holds = new RemovalHoldLog(o.logger, o.removalHold.graceMs);
    this.#chassis = new ChassisTracker({
      ...o,
      signal: this.#abort.signal,
      beginSession: (cause) => this.#guard.beginSession(cause),
      onConditionInEffect: () => this.schedule('change'),
    });
    this.#writer = new OvsWriter(o);
    this.#unsure = new UnsureAnswers(o.logger);
    this.#quarantine = new Quarantine(this.#clock, this.#rateLimited);
    this.#facts = new StatusFacts({ ...o, providers: o.providers.lookup, rateLimited: this.#rateLimited });
    this.#reporter = new StatusReporter({
      ...o,
      clock: this.#clock,
      rateLimited: this.#rateLimited,
      header: () => this.#chassis.header(),
      heldRemovals: () => this.#holds.current,
    });
  }

  /** Subscribes to both replicas and starts the timers; the first round runs at once. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#listeners.push(this.#chassis.watch(() => this.schedule('reconnect')));
    // Each applied update tells the plan memo which rows changed, so that rounds plan only the
    // ports those rows belong to (src/plug plan-memo.ts); versions are the replicas' seqno, which
    // the update has just moved on.
    const onSbChange = (batch: ChangeBatch): void => {
      this.#memo.noteSb(this.#o.sb.seqno, sbChangesOf(batch));
      this.schedule('change');
    };
    const onOvsChange = (batch: ChangeBatch): void => {
      this.#memo.noteOvs(this.#o.ovs.seqno, ovsChangesOf(batch));
      this.schedule('change');
    };
    for (const [replica, onChange] of [
      [this.#o.sb, onSbChange],
      [this.#o.ovs, onOvsChange],
    ] as const) {
      replica.on('change', onChange);
      this.#listeners.push(() => replica.off('change', onChange));
    }
    const { timers, providers, resyncIntervalMs, providerRunIntervalMs = 1_000 } = this.#o;
    const run = async (): Promise<void> => {
      if (await runProviders(providers, { ...this.#o, rateLimited: this.#rateLimited }))
        this.schedule('provider');
    };
    this.#timers.push(
      repeat(timers, resyncIntervalMs, () => this.schedule('timer')),
      repeat(timers, providerRunIntervalMs, () => void run()),
    );
    this.schedule('startup');
  }

  /**
   * Stops planning and waits (bounded) for the transaction in flight, whose providers still get
   * `finish`/`release`. Never removes anything: ports stay plugged across agent restarts.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort();
    for (const timer of [...this.#timers, this.#roundTimer, this.#wakeTimer]) timer?.cancel();
    for (const off of this.#listeners) off();
    if (this.#inFlight !== undefined)
      await Promise.race([
        this.#inFlight.done,
        new Promise<void>((resolve) => this.#o.timers.setTimer(resolve, 5_000)),
      ]);
    // Still in flight: the agent is going away and will never look at its outcome (nor call
    // `finish`); its answers are released now, before the providers are destroyed.
    if (this.#inFlight !== undefined && !this.#abandoned) {
      this.#abandoned = true;
      releaseAnswers(answersOf(this.#inFlight.work), this.#o.logger);
    }
    // An unknown outcome nobody will look at again: its answers are no longer needed.
    this.#unsure.settle(() => false);
  }

  /** The latest snapshot: ports as of the last round, connections and providers as of now. */
  status(): AgentStatus {
    return this.#reporter.status();
  }

  /** Follows a changed chassis name or integration bridge while running (DESIGN §3.5a). */
  setIdentity(identity: { readonly chassisName: string; readonly integrationBridge: string }): void {
    const changes = this.#chassis.setIdentity(identity);
    if (changes === undefined) return;
    this.#o.logger.info(changes, 'identity changed: following it');
    this.#reporter.refresh();
    this.schedule('change');
  }

  /** Counters for tests and the benchmark. */
  get stats(): { readonly rounds: number; readonly transactions: number } {
    return { rounds: this.#rounds, transactions: this.#writer.transactions };
  }

  /** Marks the reconciler dirty; a round runs on the next turn of the event loop. */
  schedule(trigger: ReplanTrigger): void {
    if (this.#stopped) return;
    this.#triggers.add(trigger);
    this.#o.onLiveness?.('requested');
    if (this.#roundTimer !== undefined || this.#inFlight !== undefined) return;
    const run = (): void => {
      this.#roundTimer = undefined;
      if (this.#stopped) return;
      this.#o.onLiveness?.('round');
      const started = this.#monotonicNow();
      try {
        this.#round();
      } catch (error) {
        // A bug or a malformed row must not kill the agent: log, and try again a little later.
        this.#rateLimited.log('error', 'round', { err: error }, 'reconcile round failed');
        this.#memo.clear();
        this.#wakeAt(this.#o.now() + 1_000);
      }
      // Duty-cycle cap: with a steady stream of updates (thousands of ports being bound), a round
      // as long as the last one must pass before the next, so planning takes at most half a core.
      const elapsed = this.#monotonicNow() - started;
      this.#earliestNextRound = elapsed >= 1 ? this.#o.now() + elapsed : 0;
    };
    const wait = this.#earliestNextRound - this.#o.now();
    this.#roundTimer =
      wait > 0 ? this.#o.timers.setTimer(run, wait) : (this.#o.defer ?? deferToCheckPhase)(run);
  }

  /**
   * Wakes a round at `atMs` (gate expiry, hold expiry, quarantine end). One timer serves all
   * deadlines: it keeps the earliest, and the round it wakes re-arms the later ones.
   */
  #wakeAt(atMs: number): void {
    if (this.#wakeTimer !== undefined && this.#wakeAtMs <= atMs) return;
    const delay = Math.max(0, atMs - this.#o.now());
    this.#wakeTimer?.cancel();
    this.#wakeAtMs = atMs;
    this.#wakeTimer = this.#o.timers.setTimer(() => {
      this.#wakeTimer = undefined;
      this.schedule('retry');
    }, delay + 1);
  }

  #gateOpen(now: number): boolean {
    const gate = this.#gate;
    if (gate === undefined) return true;
    const seqno = this.#o.ovs.seqno;
    let open = seqno > gate.fromSeqno;
    if (gate.kind === 'afterCommit') {
      const ifaces = this.#o.ovs.table('Interface');
      const ports = this.#o.ovs.table('Port');
      open =
        (!gate.needsMove || open) &&
        gate.interfaces.every((uuid) => ifaces.get(uuid) !== undefined) &&
        gate.deletedPorts.every((uuid) => ports.get(uuid) === undefined);
    }
    if (open || now >= gate.untilMs) {
      this.#gate = undefined;
      this.#unsure.settle((txn) => this.#writer.showsCommitted(txn));
      return true;
    }
    this.#wakeAt(gate.untilMs);
    return false;
  }

  #round(): void {
    if (this.#stopped || this.#inFlight !== undefined) return;
    for (const trigger of this.#triggers) {
      this.#o.metrics?.replan(trigger);
      // A change of rows, the end of a transaction or a wake-up plan only what changed; a
      // provider's change of state asks every provider again; a reconnect, the start and the
      // periodic resync (the safety net) also read every row again (PlanMemo).
      if (trigger === 'provider') this.#memo.forgetOutcomes();
      else if (trigger !== 'change' && trigger !== 'retry') this.#memo.clear();
    }
    this.#triggers.clear();
    const started = this.#monotonicNow();
    const now = this.#o.now();
    this.#rounds += 1;
    const chassisUuid = this.#chassis.track() ? this.#chassis.chassisUuid : undefined;
    if (chassisUuid === undefined) {
      // Until the first plan, show the ports we own as kept; afterwards keep the last plan's view.
      const { integrationBridge, chassisUuid: uuid } = this.#chassis;
      this.#reporter.publish(this.#facts.current() ?? this.#facts.withoutPlan(integrationBridge, uuid), now);
      this.#o.metrics?.observeReconcile(this.#monotonicNow() - started);
      return;
    }
    // Waiting for the replica to show our last commit: the next round (armed) publishes, so a
    // port never flips back from Plugging to Pending while its rows are on their way.
    if (!this.#gateOpen(now) || this.#moveToIntegrationBridge()) return;

    const plan = this.#plan(chassisUuid, now);
    releaseAnswers(plan.release, this.#o.logger);
    this.#reporter.planWarnings(plan);
    const hold = this.#holds.track(plan.held, plan.ownedCount);
    if (hold !== undefined) this.#wakeAt(hold.earliestMs);
    const { chosen: work, skipped, wakeAtMs, isolating } = this.#quarantine.select(plan, workOf(plan));
    if (wakeAtMs !== undefined) this.#wakeAt(wakeAtMs);
    if (isolating) this.schedule('retry');
    releaseAnswers(answersOf(skipped), this.#o.logger);
    // Send first (the request leaves synchronously), then report: status never delays a plug.
    if (work.length > 0)
      this.#inFlight = { ports: inFlightPorts(plan, work), work, done: this.#transact(plan, work) };
    this.#quarantine.forgetSettled(plan);
    const sent = new Set(work.map((w) => w.logicalPort));
    const errorOf = (port: string): string | undefined => this.#quarantine.errorOf(port);
    const inFlight = work.length > 0 ? this.#inFlight?.ports : undefined;
    // Only the ports the plan says may have changed, when it says so (a planner memo).
    const changes = this.#facts.changesFromPlan(plan, chassisUuid, sent, errorOf);
    if (changes !== undefined) {
      this.#reporter.publishChanges(withInFlight(changes.facts, inFlight), changes.gone, now);
    } else {
      const facts = this.#facts.fromPlan(plan, chassisUuid, sent, errorOf);
      this.#reporter.publish(withInFlight(facts, inFlight), now);
    }
    this.#o.metrics?.observeReconcile(this.#monotonicNow() - started);
  }

  #plan(chassisUuid: string, now: number): Plan {
    const { sb, ovs, providers, ownershipKey, observePlugTypes } = this.#o;
    return this.#o.planner({
      chassisUuid,
      integrationBridge: this.#chassis.integrationBridge,
      ...planRows(sb, ovs),
      memo: this.#memo,
      sbVersion: sb.seqno,
      ovsVersion: ovs.seqno,
      providers: providers.lookup,
      config: {
        ownershipKey,
        canRemove: this.#chassis.canRemove(),
        ...(observePlugTypes === undefined ? {} : { observePlugTypes }),
      },
      reviewRemovals: (ports) =>
        this.#guard.review({ ...ports, nowMs: now, sbInEffect: this.#chassis.sbInEffect() }),
    });
  }

  async #transact(plan: Plan, work: readonly WorkItem[]): Promise<void> {
    const sentAtSeqno = this.#o.ovs.seqno;
    const startedMs = this.#o.now();
    const { outcome, written } = await this.#writer.sendPlan(plan, work, this.#chassis.integrationBridge);
    if (this.#abandoned) return;
    const lostRace = this.#writer.countLostRace(outcome, work);
    const now = this.#o.now();
    const log = this.#o.logger;
    switch (outcome.status) {
      case 'success':
      case 'unchanged': {
        for (const w of work) {
          this.#quarantine.succeeded(w.logicalPort);
          finishAnswers(w.prepared, log);
        }
        logCommitted(log, written, now - startedMs);
        const uuids = outcome.status === 'success' ? outcome.uuids : undefined;
        this.#gate = {
          kind: 'afterCommit',
          interfaces: written.insertedInterfaces.flatMap((ref) => uuids?.get(ref) ?? []),
          deletedPorts: written.deletedPorts,
          fromSeqno: sentAtSeqno,
          needsMove: written.updateCount > 0,
          untilMs: now + CATCH_UP_TIMEOUT_MS,
        };
        break;
      }
      case 'tryAgain':
        log.debug({ reason: outcome.reason }, 'OVS transaction must be rebuilt from the fresh replica');
        this.#awaitReplica(sentAtSeqno);
        break;
      case 'unknown':
        log.warn(
          { reason: outcome.reason, ports: work.length },
          'OVS transaction outcome unknown; replanning once the replica catches up',
        );
        this.#awaitReplica(sentAtSeqno, UNKNOWN_OUTCOME_WAIT_MS);
        this.#unsure.hold(this.#writer.unsure(written, work));
        // Stopped meanwhile: nobody will look at the replica again.
        if (this.#stopped) this.#unsure.settle(() => false);
        break;
      case 'notLocked':
      case 'error':
        if (lostRace) this.#awaitReplica(sentAtSeqno);
        else this.#quarantine.fail(work, written.culprit(outcome), outcome);
        break;
    }
    if (outcome.status !== 'unknown') releaseAnswers(answersOf(work), log);
    this.#landed();
  }

  /** After an integration bridge change (see OvsWriter.moveOwnedPorts); true when a move was sent. */
  #moveToIntegrationBridge(): boolean {
    const sentAtSeqno = this.#o.ovs.seqno;
    const move = this.#writer.moveOwnedPorts(this.#chassis.bridgesLeft, this.#chassis.integrationBridge);
    if (move === undefined) return false;
    const done = move.outcome.then(() => {
      this.#awaitReplica(sentAtSeqno);
      this.#landed();
    });
    this.#inFlight = { ports: { plug: new Set(move.logicalPorts), unplug: new Set() }, work: [], done };
    return true;
  }

  /** Gates the next round until the replica applied anything after `fromSeqno` (or `waitMs` passed). */
  #awaitReplica(fromSeqno: number, waitMs = CATCH_UP_TIMEOUT_MS): void {
    this.#gate = { kind: 'replicaMoves', fromSeqno, untilMs: this.#o.now() + waitMs };
  }

  /** The transaction in flight is over: the next round may run. */
  #landed(): void {
    this.#inFlight = undefined;
    this.schedule('retry');
  }
}
