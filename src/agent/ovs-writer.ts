/**
 * The OVS writer: turns the chosen work of a plan into one OVS transaction and sends it.
 *
 * Verify rules. A transaction is guarded by `wait` (verify) operations on every fact the plan read
 * to decide it, each sized by the work, never by the node: for each created Port, that no Port
 * and no Interface of its name exists (the planner saw the name free; unless this transaction's
 * own removal frees it, a take-over) and that the bridge exists;
 * for each removed Port, that the bridge still holds it, its `interfaces` and its Interface's
 * `external_ids`; for each updated Interface, its changed columns and `external_ids`. A
 * concurrent writer then makes the commit fail with `tryAgain` instead of being clobbered or
 * failing on a name index. (The bridge's whole `ports` set is not verified: on a node with
 * 10,000 ports that wait alone is ~480 KB to build, send and compare for a one-port plug.)
 *
 * Error attribution. Every write op's handle (from the transaction builder) is recorded with the
 * port that alone contributed it; an error outcome's `opIndex` is turned back into a handle by the
 * builder, which alone knows how it orders lock asserts, verifies and writes. An op shared by
 * several ports (the bridge's `ports` mutation) names no port.
 *
 * It also recognises, in the replica, what a transaction with an unknown outcome wrote, and moves
 * owned Ports to a new integration bridge (DESIGN §3.5a).
 */
import {
  mutation,
  where,
  whereUuid,
  type Mutation,
  type NamedUuid,
  type OpHandle,
  type Row,
  type TransactionBuilder,
  type TxnOutcome,
} from '../ovsdb/index.js';
import type {
  DesiredInterface,
  InterfaceChanges,
  Logger,
  OwnershipKey,
  Plan,
  PlannedCreate,
  PlannedRemove,
  PlannedReplug,
  PlannedUpdate,
  PreparedPlug,
} from '../plug/index.js';
import type { AgentMetrics } from './metrics.js';
import type { OvsReplica } from './reconciler-options.js';
import { stringColumn, stringMap, toBridge, toInterface, toPort } from './replica-rows.js';

/** One port's share of a plan: a port may have several (an update and a duplicate's removal). */
export interface WorkItem {
  readonly logicalPort: string;
  readonly kind: 'create' | 'update' | 'replug' | 'remove';
  /** The ready answers this work ends (finish after a commit, release always). */
  readonly prepared: readonly PreparedPlug[];
}

/** A plan's work, port by port, in the order the transaction writes it. */
export function workOf(plan: Plan): WorkItem[] {
  const work: WorkItem[] = [];
  for (const c of plan.create)
    work.push({ logicalPort: c.logicalPort, kind: 'create', prepared: [c.prepared] });
  for (const u of plan.update)
    work.push({ logicalPort: u.logicalPort, kind: 'update', prepared: [u.prepared] });
  for (const r of plan.replug) {
    const prepared = r.old.prepared === undefined ? [r.prepared] : [r.old.prepared, r.prepared];
    work.push({ logicalPort: r.logicalPort, kind: 'replug', prepared });
  }
  for (const r of plan.remove)
    work.push({
      logicalPort: r.logicalPort,
      kind: 'remove',
      prepared: r.prepared === undefined ? [] : [r.prepared],
    });
  return work;
}

/** The plan entries one transaction carries. */
export interface TxnWork {
  readonly creates: readonly PlannedCreate[];
  readonly updates: readonly PlannedUpdate[];
  readonly replugs: readonly PlannedReplug[];
  readonly removals: readonly PlannedRemove[];
}

/** What a sent transaction wrote: to attribute its error and to recognise it in the replica. */
export interface Written extends TxnWork {
  readonly insertedInterfaces: readonly NamedUuid[];
  readonly deletedPorts: readonly string[];
  /** Interface updates that write something (the replica must move before they show). */
  readonly updateCount: number;
  /** The port whose own operation failed; undefined for a shared op, a verify or a commit error. */
  culprit(outcome: TxnOutcome): string | undefined;
}

/**
 * A transaction whose outcome was `unknown`, as recognisable in the replica by rows only it could
 * have produced (its inserted Interfaces' UUIDs never came back).
 */
export interface UnsureTxn {
  readonly prepared: readonly PreparedPlug[];
  readonly inserted: readonly { readonly name: string; readonly logicalPort: string }[];
  readonly deletedPorts: readonly string[];
  readonly updates: readonly PlannedUpdate[];
}

/** Owned Ports to move from previous integration bridges to the current one. */
interface BridgeMove {
  readonly target: Row;
  /** Per previous bridge: its Ports to move and their Interfaces (verified: ownership as read). */
  readonly from: readonly { readonly bridge: Row; readonly ports: string[]; readonly ifaces: Row[] }[];
  readonly logicalPorts: readonly string[];
}

/** Consecutive lost name races taken for a stale replica before they count as errors. */
const MAX_LOST_RACES = 3;

export interface OvsWriterOptions {
  readonly ovs: OvsReplica;
  readonly ownershipKey: OwnershipKey;
  readonly logger: Logger;
  readonly metrics?: AgentMetrics;
  /** Told when a transaction is sent and when its outcome arrives (liveness, DESIGN §5). */
  readonly onLiveness?: (event: 'sent' | 'outcome') => void;
}

export class OvsWriter {
  readonly #o: OvsWriterOptions;
  #transactions = 0;
  #lostRaces = 0;

  constructor(options: OvsWriterOptions) {
    this.#o = options;
  }

  /** Transactions sent so far. */
  get transactions(): number {
    return this.#transactions;
  }

  /** Sends the `work` entries of `plan` to `bridgeName` in one verify-guarded transaction. */
  async sendPlan(
    plan: Plan,
    work: readonly WorkItem[],
    bridgeName: string,
  ): Promise<{ outcome: TxnOutcome; written: Written }> {
    const chosen = new Set(work.map((w) => `${w.kind}\u0000${w.logicalPort}`));
    const has = (kind: WorkItem['kind'], logicalPort: string): boolean =>
      chosen.has(`${kind}\u0000${logicalPort}`);
    const txnWork: TxnWork = {
      creates: plan.create.filter((c) => has('create', c.logicalPort)),
      updates: plan.update.filter((u) => has('update', u.logicalPort)),
      replugs: plan.replug.filter((r) => has('replug', r.logicalPort)),
      removals: plan.remove.filter((r) => has('remove', r.logicalPort)),
    };
    let written: Written = {
      ...txnWork,
      insertedInterfaces: [],
      deletedPorts: [],
      updateCount: 0,
      culprit: () => undefined,
    };
    const outcome = await this.#send((tx) => {
      written = this.#write(tx, txnWork, bridgeName);
    });
    return { outcome, written };
  }

  /**
   * Whether `outcome` lost a name race: a commit-time uniqueness violation against a row that
   * "existed in the database before this transaction" means another writer committed a Port or
   * Interface of the same name after the plan read the replica. (Every created name is guarded
   * by a verify that no Port and no Interface of that name exists, which turns such a race —
   * e.g. ovn-controller's built-in plugging winning it, DESIGN §3.5a — into `tryAgain` first;
   * this remains for a violation those verifies do not foresee.) The planner never claims a
   * name the replica shows taken, so this is a stale replica: no port is failed; the next round
   * plans once the replica shows the other row. Bounded by consecutive lost races, so a
   * violation the replica cannot explain ends as an error.
   */
  isLostNameRace(outcome: TxnOutcome): boolean {
    return (
      outcome.status === 'error' &&
      outcome.error === 'constraint violation' &&
      (outcome.details ?? '').includes('existed in the database before this transaction') &&
      this.#lostRaces < MAX_LOST_RACES
    );
  }

  /**
   * Counts the outcome of the transaction that carried `work` towards consecutive lost races;
   * true (and logged) when it lost one.
   */
  countLostRace(outcome: TxnOutcome, work: readonly WorkItem[]): boolean {
    const lost = this.isLostNameRace(outcome);
    this.#lostRaces = lost ? this.#lostRaces + 1 : 0;
    if (lost)
      this.#o.logger.info(
        {
          details: outcome.status === 'error' ? outcome.details : undefined,
          ports: work.map((w) => w.logicalPort).slice(0, 10),
        },
        'OVS transaction lost a name race to another writer; replanning from the fresh replica',
      );
    return lost;
  }

  /** The unknown-outcome record of a written transaction. */
  unsure(written: Written, work: readonly WorkItem[]): UnsureTxn {
    return {
      prepared: work.flatMap((w) => w.prepared),
      inserted: [...written.creates, ...written.replugs].map((c) => ({
        name: c.interface.name,
        logicalPort: c.logicalPort,
      })),
      deletedPorts: written.deletedPorts.slice(),
      updates: written.updates,
    };
  }

  /** Whether the replica shows what `unsure` wrote (it commits atomically: any part will do). */
  showsCommitted(unsure: UnsureTxn): boolean {
    const ifaces = this.#o.ovs.table('Interface');
    if (unsure.inserted.length > 0) {
      const byName = new Map(ifaces.all().map((row) => [stringColumn(row, 'name'), row]));
      for (const { name, logicalPort } of unsure.inserted) {
        const row = byName.get(name);
        if (row === undefined) continue;
        const ids = stringMap(row, 'external_ids');
        if (ids['iface-id'] === logicalPort && ids[this.#o.ownershipKey] !== undefined) return true;
      }
    }
    const ports = this.#o.ovs.table('Port');
    if (unsure.deletedPorts.some((uuid) => ports.get(uuid) === undefined)) return true;
    return unsure.updates.some((u) => {
      const row = ifaces.get(u.interfaceUuid);
      return row !== undefined && updateApplied(row, u.changes);
    });
  }

  /**
   * After an integration bridge change: moves the Ports the agent owns on the bridges `left`
   * behind to the bridge `to`, once it exists (until then the planner reports it missing).
   * Undefined when nothing is sent. `left` is emptied once nothing is left to move, and when the
   * move failed: it is not retried, the planner then reports each port's name as taken.
   */
  moveOwnedPorts(
    left: Set<string>,
    to: string,
  ): { readonly logicalPorts: readonly string[]; readonly outcome: Promise<TxnOutcome> } | undefined {
    if (left.size === 0) return undefined;
    const move = this.#planBridgeMove(left, to);
    if (move === 'done') left.clear();
    if (typeof move === 'string') return undefined;
    const fields = {
      from: move.from.map((m) => stringColumn(m.bridge, 'name')),
      to,
      ports: move.logicalPorts,
    };
    const outcome = this.#sendBridgeMove(move).then((outcome) => {
      if (outcome.status === 'success' || outcome.status === 'unchanged') {
        this.#o.logger.info(fields, 'moved owned ports to the new integration bridge');
      } else if (outcome.status === 'error' || outcome.status === 'notLocked') {
        left.clear();
        this.#o.logger.warn(
          { ...fields, outcome },
          'could not move owned ports to the new integration bridge',
        );
      }
      return outcome;
    });
    return { logicalPorts: move.logicalPorts, outcome };
  }

  /**
   * The Ports the agent owns (every interface carries `iface-id` and the marker) on the bridges
   * `left` behind: `wait` while the bridge `to` does not exist, `done` when none is left to move.
   */
  #planBridgeMove(left: Iterable<string>, to: string): BridgeMove | 'wait' | 'done' {
    const bridges = this.#o.ovs.table('Bridge').all();
    const target = bridges.find((row) => stringColumn(row, 'name') === to);
    if (target === undefined) return 'wait';
    const portTable = this.#o.ovs.table('Port');
    const ifaceTable = this.#o.ovs.table('Interface');
    const from: BridgeMove['from'][number][] = [];
    const logicalPorts: string[] = [];
    for (const name of left) {
      const bridge = bridges.find((row) => stringColumn(row, 'name') === name);
      if (bridge === undefined) continue;
      const ports: string[] = [];
      const ifaces: Row[] = [];
      for (const portUuid of toBridge(bridge).ports) {
        const port = portTable.get(portUuid);
        if (port === undefined) continue;
        const rows = toPort(port).interfaces.map((uuid) => ifaceTable.get(uuid));
        const owned = rows.every((row) => {
          if (row === undefined) return false;
          const ids = toInterface(row).externalIds;
          return ids['iface-id'] !== undefined && ids[this.#o.ownershipKey] !== undefined;
        });
        if (!owned || rows.length === 0) continue;
        ports.push(portUuid);
        for (const row of rows) {
          if (row === undefined) continue;
          ifaces.push(row);
          logicalPorts.push(toInterface(row).externalIds['iface-id'] ?? '');
        }
      }
      if (ports.length > 0) from.push({ bridge, ports, ifaces });
    }
    return from.length === 0 ? 'done' : { target, from, logicalPorts };
  }

  /** Sends a move: same rows (no unplug/replug), verify-guarded on each moved Interface's `external_ids`. */
  #sendBridgeMove(move: BridgeMove): Promise<TxnOutcome> {
    return this.#send((tx) => {
      for (const m of move.from) {
        for (const row of m.ifaces) tx.verify('Interface', row, ['external_ids']);
        tx.mutate('Bridge', m.bridge._uuid, [mutation('ports', 'delete', m.ports)]);
      }
      tx.mutate('Bridge', move.target._uuid, [
        mutation(
          'ports',
          'insert',
          move.from.flatMap((m) => m.ports),
        ),
      ]);
    });
  }

  /** Sends one OVS transaction, counted in the metrics; a throw is an `rpc` error outcome. */
  async #send(build: (tx: TransactionBuilder) => void): Promise<TxnOutcome> {
    this.#transactions += 1;
    let outcome: TxnOutcome;
    this.#o.onLiveness?.('sent');
    try {
      outcome = await this.#o.ovs.transact(build);
    } catch (error) {
      outcome = {
        status: 'error',
        scope: 'rpc',
        error: error instanceof Error ? error.message : String(error),
      };
    }
    this.#o.onLiveness?.('outcome');
    this.#o.metrics?.transaction(
      this.isLostNameRace(outcome) ? 'conflict' : outcome.status === 'unchanged' ? 'empty' : outcome.status,
    );
    return outcome;
  }

  #write(tx: TransactionBuilder, work: TxnWork, bridgeName: string): Written {
    const owners = new Map<OpHandle, string>();
    const insertedInterfaces: NamedUuid[] = [];
    const deletedPorts: string[] = [];
    let updateCount = 0;
    const written = (): Written => ({
      ...work,
      insertedInterfaces,
      deletedPorts,
      updateCount,
      culprit: (outcome) => {
        if (outcome.status !== 'error' || outcome.opIndex === undefined) return undefined;
        const handle = tx.handleAt(outcome.opIndex);
        return handle === undefined ? undefined : owners.get(handle);
      },
    });
    const bridge = this.#o.ovs
      .table('Bridge')
      .all()
      .find((row) => stringColumn(row, 'name') === bridgeName);
    if (bridge === undefined) return written();
    const addPorts: NamedUuid[] = [];
    const bridgeUsers: string[] = [];
    const portTable = this.#o.ovs.table('Port');
    const ifaceTable = this.#o.ovs.table('Interface');
    // The bridge the new Ports go on still exists (else they would be garbage-collected).
    if (work.creates.length > 0 || work.replugs.length > 0)
      tx.verifySome('Bridge', [whereUuid(bridge._uuid)]);
    // Names this transaction frees itself (a take-over reuses them): the rows holding them are
    // verified as read by their removal instead, and are gone before the inserts.
    const freedPortNames = new Set<string>();
    const freedIfaceNames = new Set<string>();
    for (const r of [...work.replugs.map((replug) => replug.old), ...work.removals]) {
      freedIfaceNames.add(r.interfaceName);
      const portRow = portTable.get(r.portUuid);
      if (portRow !== undefined) freedPortNames.add(stringColumn(portRow, 'name'));
    }
    const insertPort = (logicalPort: string, desired: DesiredInterface): void => {
      // The name is still free, as the planner saw it (the indexes on Port and Interface `name`).
      if (!freedPortNames.has(desired.name)) tx.verifyNone('Port', [where('name', '==', desired.name)]);
      if (!freedIfaceNames.has(desired.name)) tx.verifyNone('Interface', [where('name', '==', desired.name)]);
      const iface = tx.insert('Interface', {
        name: desired.name,
        type: desired.type,
        options: new Map(Object.entries(desired.options)),
        external_ids: new Map(Object.entries(desired.externalIds)),
        ...(desired.mtuRequest === undefined ? {} : { mtu_request: desired.mtuRequest }),
      });
      const port = tx.insert('Port', { name: desired.name, interfaces: [iface] });
      owners.set(iface, logicalPort).set(port, logicalPort);
      insertedInterfaces.push(iface);
      addPorts.push(port);
      bridgeUsers.push(logicalPort);
    };
    for (const c of work.creates) insertPort(c.logicalPort, c.interface);
    /**
     * Deleting a Port from the bridge deletes it and ALL its interfaces, so the rows the planner
     * judged by — the Port's `interfaces` (ours is its only one) and our Interface's
     * `external_ids` (ownership marker, iface-id) — are verified as read, and that the bridge
     * still holds the Port (moved elsewhere, it would survive the delete). A `wait` compares whole
     * columns, so an unrelated concurrent `external_ids` write (ovn-controller setting or clearing
     * `ovn-installed`) also turns the commit into `tryAgain`: one replan after the replica shows
     * that write, bounded by the writer's own rate; the alternative, a key-level `includes`
     * condition, would fail as an error rather than as a verify (tryAgain).
     */
    const verifyRemoval = (r: PlannedRemove): void => {
      const portRow = portTable.get(r.portUuid);
      const ifaceRow = ifaceTable.get(r.interfaceUuid);
      if (portRow !== undefined) tx.verify('Port', portRow, ['interfaces']);
      if (ifaceRow !== undefined) tx.verify('Interface', ifaceRow, ['external_ids']);
      tx.verifySome('Bridge', [whereUuid(bridge._uuid), where('ports', 'includes', [r.portUuid])]);
    };
    for (const r of work.replugs) {
      verifyRemoval(r.old);
      deletedPorts.push(r.old.portUuid);
      insertPort(r.logicalPort, r.interface);
    }
    for (const r of work.removals) {
      verifyRemoval(r);
      deletedPorts.push(r.portUuid);
      bridgeUsers.push(r.logicalPort);
    }
    if (addPorts.length > 0 || deletedPorts.length > 0) {
      const mutations: Mutation[] = [];
      if (deletedPorts.length > 0) mutations.push(mutation('ports', 'delete', deletedPorts));
      if (addPorts.length > 0) mutations.push(mutation('ports', 'insert', addPorts));
      const shared = tx.mutate('Bridge', bridge._uuid, mutations);
      // Shared by every port that adds or removes a Port: attributable only when it is the only one.
      const only = bridgeUsers.length === 1 ? bridgeUsers[0] : undefined;
      if (only !== undefined) owners.set(shared, only);
    }
    for (const u of work.updates) {
      const row = ifaceTable.get(u.interfaceUuid);
      if (row === undefined) continue;
      const c = u.changes;
      // external_ids always: the update is ours to make only while the marker says so.
      const verifyColumns: string[] = ['external_ids'];
      if (c.type !== undefined) verifyColumns.push('type');
      if (Object.keys(c.setOptions).length > 0 || c.deleteOptions.length > 0) verifyColumns.push('options');
      if (c.mtuRequest !== undefined) verifyColumns.push('mtu_request');
      if (verifyColumns.length === 1 && Object.keys(c.setExternalIds).length === 0) continue;
      updateCount += 1;
      tx.verify('Interface', row, verifyColumns);
      const mutations = mapMutations(row, 'options', c.setOptions, c.deleteOptions).concat(
        mapMutations(row, 'external_ids', c.setExternalIds, []),
      );
      if (mutations.length > 0) owners.set(tx.mutate('Interface', row._uuid, mutations), u.logicalPort);
      const columns: Record<string, string | number | undefined> = {};
      if (c.type !== undefined) columns['type'] = c.type;
      if (c.mtuRequest !== undefined)
        columns['mtu_request'] = c.mtuRequest.kind === 'set' ? c.mtuRequest.value : undefined;
      if (Object.keys(columns).length > 0)
        owners.set(tx.update('Interface', row._uuid, columns), u.logicalPort);
    }
    return written();
  }
}

/** Logs what a committed transaction did, one line per port. */
export function logCommitted(log: Logger, work: TxnWork, ms: number): void {
  for (const c of work.creates)
    log.info(
      { logicalPort: c.logicalPort, interface: c.interface.name, provider: c.plugType, ms },
      'plugged port',
    );
  for (const r of work.replugs)
    log.info(
      {
        logicalPort: r.logicalPort,
        interface: r.interface.name,
        oldInterface: r.old.interfaceName,
        provider: r.plugType,
        ms,
      },
      'replugged port: provider names another interface',
    );
  for (const r of work.removals)
    log.info(
      { logicalPort: r.logicalPort, interface: r.interfaceName, provider: r.plugType, reason: r.reason, ms },
      'unplugged port',
    );
  for (const u of work.updates)
    log.debug(
      { logicalPort: u.logicalPort, interface: u.interface.name, changes: u.changes },
      'updated interface',
    );
}

/**
 * Map-column mutations that set `set` keys and delete `remove` keys. OVSDB's map `insert` never
 * overwrites an existing key, so a changed value is deleted (with its current value) first.
 */
function mapMutations(
  row: Row,
  column: string,
  set: Readonly<Record<string, string>>,
  remove: readonly string[],
): Mutation[] {
  const current = stringMap(row, column);
  const toDelete = new Map<string, string>();
  for (const key of remove) {
    const value = current[key];
    if (value !== undefined) toDelete.set(key, value);
  }
  const toInsert = new Map<string, string>();
  for (const [key, value] of Object.entries(set)) {
    const have = current[key];
    if (have !== undefined) toDelete.set(key, have);
    toInsert.set(key, value);
  }
  const mutations: Mutation[] = [];
  if (toDelete.size > 0) mutations.push(mutation(column, 'delete', toDelete));
  if (toInsert.size > 0) mutations.push(mutation(column, 'insert', toInsert));
  return mutations;
}

/** Whether `row` carries every change of a planned update (its columns as the update left them). */
function updateApplied(row: Row, changes: InterfaceChanges): boolean {
  const iface = toInterface(row);
  if (changes.type !== undefined && iface.type !== changes.type) return false;
  for (const [key, value] of Object.entries(changes.setOptions))
    if (iface.options[key] !== value) return false;
  if (changes.deleteOptions.some((key) => iface.options[key] !== undefined)) return false;
  for (const [key, value] of Object.entries(changes.setExternalIds))
    if (iface.externalIds[key] !== value) return false;
  if (changes.mtuRequest !== undefined) {
    const mtu = iface.mtuRequest;
    if (changes.mtuRequest.kind === 'set' ? mtu !== changes.mtuRequest.value : mtu !== undefined)
      return false;
  }
  return true;
}
