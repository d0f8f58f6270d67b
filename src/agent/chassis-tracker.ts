/**
 * The chassis tracker: who this agent is and whether the Southbound replica speaks for it.
 *
 * It follows the identity live (DESIGN §3.5a: chassis name and integration bridge), finds our
 * `Chassis` row and keeps the `Port_Binding` monitor condition pointed at it, and tells when
 * removals are safe (DESIGN §3.4): both replicas monitoring and the condition for the current
 * Chassis row in effect. Every Southbound (re)sync and every new Chassis row begins a removal-guard
 * session. It also counts reconnects and describes both connections for the status.
 */
import { where, type ClientState } from '../ovsdb/index.js';
import type { Logger, SessionCause } from '../plug/index.js';
import type { AgentMetrics } from './metrics.js';
import type { Replica, SbReplica } from './reconciler-options.js';
import { stringColumn } from './replica-rows.js';
import type { AgentStatus, DbStatus } from './status/index.js';

export type DbName = 'sb' | 'ovs';

export interface ChassisTrackerOptions {
  readonly sb: SbReplica;
  readonly ovs: Replica;
  readonly chassisName: string;
  readonly integrationBridge: string;
  readonly logger: Logger;
  readonly metrics?: AgentMetrics;
  /** Aborts waiting for a condition to take effect (the reconciler stopped). */
  readonly signal: AbortSignal;
  /** A removal-guard session begins (DESIGN §3.4 cases 2, 3 and 5). */
  readonly beginSession: (cause: SessionCause) => void;
  /** A condition took effect: it may bring no rows (no change event), yet it allows removals. */
  readonly onConditionInEffect: () => void;
}

export class ChassisTracker {
  #chassisName: string;
  #integrationBridge: string;
  /** Previous integration bridges whose owned Ports are still to be moved to the current one. */
  readonly bridgesLeft = new Set<string>();
  #chassisUuid: string | undefined;
  #conditionChassis: string | undefined;
  #conditionSeqno = Number.POSITIVE_INFINITY;
  #sbSyncedOnce = false;
  readonly #connectedBefore = new Set<DbName>();
  readonly #reconnects = { sb: 0, ovs: 0 };

  constructor(private readonly o: ChassisTrackerOptions) {
    this.#chassisName = o.chassisName;
    this.#integrationBridge = o.integrationBridge;
  }

  get chassisName(): string {
    return this.#chassisName;
  }

  get integrationBridge(): string {
    return this.#integrationBridge;
  }

  /** Our Chassis row as of the last {@link track}. */
  get chassisUuid(): string | undefined {
    return this.#chassisUuid;
  }

  /**
   * Follows both connections from now on (their states and reconnects), calling `onEvent` after
   * each; returns the unsubscribe.
   */
  watch(onEvent: () => void): () => void {
    const offs = (['sb', 'ovs'] as const).map((db) => {
      const replica = this.o[db];
      if (replica.state === 'monitoring') this.#connectedBefore.add(db);
      const onState = (state: ClientState): void => {
        if (state === 'monitoring' && db === 'sb') this.#sbSyncedOnce = true;
        onEvent();
      };
      const onReconnect = (): void => {
        this.#onReconnect(db);
        onEvent();
      };
      replica.on('state', onState);
      replica.on('reconnect', onReconnect);
      return () => {
        replica.off('state', onState);
        replica.off('reconnect', onReconnect);
      };
    });
    return () => offs.forEach((off) => off());
  }

  /**
   * Finds our Chassis row and keeps the Port_Binding condition pointed at it. True when a plan can
   * be made: OVS monitoring, the SB synced once and our Chassis row known.
   */
  track(): boolean {
    const { sb, ovs } = this.o;
    if (sb.state === 'monitoring') this.#sbSyncedOnce = true;
    let uuid: string | undefined;
    for (const row of sb.table('Chassis').all())
      if (stringColumn(row, 'name') === this.#chassisName) uuid = row._uuid;
    this.#chassisUuid = uuid;
    if (uuid !== undefined && uuid !== this.#conditionChassis) this.#follow(uuid);
    return ovs.state === 'monitoring' && this.#sbSyncedOnce && uuid !== undefined;
  }

  /** Both replicas monitoring, and the SB condition for the current Chassis row in effect. */
  canRemove(): boolean {
    return (
      this.o.ovs.state === 'monitoring' && this.sbInEffect() && this.#chassisUuid === this.#conditionChassis
    );
  }

  /** The SB monitoring with the condition for our Chassis row in effect. */
  sbInEffect(): boolean {
    return (
      this.o.sb.state === 'monitoring' &&
      this.#chassisUuid !== undefined &&
      this.o.sb.conditionSeqno >= this.#conditionSeqno
    );
  }

  /**
   * Follows a changed identity (DESIGN §3.5a). A new chassis name points the SB `Chassis`
   * condition at it, and nothing is removed until its Chassis row and Port_Binding condition are
   * in effect; a new integration bridge leaves the previous one to have its owned Ports moved.
   * Returns what changed, undefined when nothing did.
   */
  setIdentity(identity: {
    readonly chassisName: string;
    readonly integrationBridge: string;
  }): Record<string, { from: string; to: string }> | undefined {
    const changes: Record<string, { from: string; to: string }> = {};
    if (identity.chassisName !== this.#chassisName) {
      changes['chassis'] = { from: this.#chassisName, to: identity.chassisName };
      this.#chassisName = identity.chassisName;
      this.#chassisUuid = undefined;
      this.o.sb.setCondition('Chassis', [where('name', '==', identity.chassisName)]);
    }
    if (identity.integrationBridge !== this.#integrationBridge) {
      changes['integrationBridge'] = { from: this.#integrationBridge, to: identity.integrationBridge };
      this.bridgesLeft.add(this.#integrationBridge);
      this.bridgesLeft.delete(identity.integrationBridge);
      this.#integrationBridge = identity.integrationBridge;
    }
    return Object.keys(changes).length === 0 ? undefined : changes;
  }

  /** Who we are and both database connections, for the status. */
  header(): Pick<AgentStatus, 'chassis' | 'integrationBridge' | 'sb' | 'ovs'> {
    return {
      chassis: this.#chassisName,
      integrationBridge: this.#integrationBridge,
      sb: dbStatus(this.o.sb, this.#sbSyncedOnce && this.sbInEffect(), this.#reconnects.sb),
      ovs: dbStatus(this.o.ovs, this.o.ovs.state === 'monitoring', this.#reconnects.ovs),
    };
  }

  #onReconnect(db: DbName): void {
    // Every (re)sync of the Southbound DB begins a session whose first view the removal guard
    // distrusts (DESIGN §3.4 cases 2 and 5): a reconnect, a resume, a re-monitor after cancellation.
    if (db === 'sb') this.o.beginSession(this.#connectedBefore.has('sb') ? 'resync' : 'startup');
    // The client reports its first connection too; only later ones are reconnects.
    if (!this.#connectedBefore.has(db)) {
      this.#connectedBefore.add(db);
      return;
    }
    this.#reconnects[db] += 1;
    this.o.metrics?.dbReconnected(db);
  }

  /** A new Chassis row (re-registration, a restored DB, a new system-id): DESIGN §3.4 case 3. */
  #follow(uuid: string): void {
    this.o.beginSession('identity');
    this.#conditionChassis = uuid;
    const seqno = this.o.sb.setCondition('Port_Binding', [
      where('requested_chassis', '==', uuid),
      where('requested_additional_chassis', 'includes', [uuid]),
    ]);
    this.#conditionSeqno = seqno;
    this.o.logger.info(
      { chassis: this.#chassisName, chassisUuid: uuid },
      'monitoring port bindings requesting this chassis',
    );
    this.o.sb.waitForConditionSeqno(seqno, { signal: this.o.signal }).then(
      () => this.o.onConditionInEffect(),
      () => undefined,
    );
  }
}

function dbStatus(replica: Replica, synced: boolean, reconnects: number): DbStatus {
  const state = replica.state;
  const remote = replica.currentRemote;
  return {
    state: state === 'idle' ? 'connecting' : state,
    ...(remote === undefined ? {} : { remote }),
    synced,
    reconnects,
  };
}
