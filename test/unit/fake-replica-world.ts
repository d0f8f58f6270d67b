/**
 * FAKE transaction outcomes over real replicas, for reconciler unit tests: `Replica` caches fed
 * with update2 messages, and an OVS side whose `transact` builds the real operations and answers
 * with scripted outcomes. `commit()` plays the server: it applies a transaction to the replica.
 * (Same technique as agent-reconciler-fake-replica.test.ts, shared for new test files.)
 */
import {
  parseSchema,
  Replica,
  TransactionBuilder,
  type ClientEvents,
  type PreparedTransaction,
  type TxnOutcome,
} from '../../src/ovsdb/index.js';
import { loadSchemaJson } from '../fixtures/ovsdb-schemas/schemas.js';

export const VSWITCH = parseSchema(loadSchemaJson('vswitch'));
export const SB = parseSchema(loadSchemaJson('ovn-sb'));
export const BRIDGE = '00000000-0000-4000-8000-00000000b001';
export const CHASSIS = '00000000-0000-4000-8000-0000000c0001';

type Listener = (...args: unknown[]) => void;

/** A replica whose content the test writes with update2 messages. */
export class FakeReplica {
  readonly replica: Replica;
  readonly #listeners = new Map<string, Set<Listener>>();
  state: 'monitoring' | 'connecting' = 'monitoring';
  readonly currentRemote = 'unix:/fake';
  readonly conditionSeqno = 1;

  constructor(schema: ConstructorParameters<typeof Replica>[0]) {
    this.replica = new Replica(schema);
  }
  get seqno(): number {
    return this.replica.seqno;
  }
  table(name: string) {
    return this.replica.table(name);
  }
  apply(updates: Record<string, unknown>): void {
    const batch = this.replica.applyUpdate('update2', updates);
    for (const l of this.#listeners.get('change') ?? []) l(batch);
  }
  setCondition(): number {
    return 1;
  }
  waitForConditionSeqno(): Promise<void> {
    return Promise.resolve();
  }
  on<K extends keyof ClientEvents>(event: K, listener: ClientEvents[K]): this {
    const set = this.#listeners.get(event) ?? new Set();
    set.add(listener as Listener);
    this.#listeners.set(event, set);
    return this;
  }
  off<K extends keyof ClientEvents>(event: K, listener: ClientEvents[K]): this {
    this.#listeners.get(event)?.delete(listener as Listener);
    return this;
  }
}

/** The OVS side: `transact` builds the real operations and answers with the next scripted outcome. */
export class FakeOvs extends FakeReplica {
  readonly sent: PreparedTransaction[] = [];
  readonly outcomes: ((tx: PreparedTransaction) => TxnOutcome | Promise<TxnOutcome>)[] = [];

  transact(build: (tx: TransactionBuilder) => void): Promise<TxnOutcome> {
    const builder = new TransactionBuilder(VSWITCH);
    build(builder);
    const prepared = builder.build();
    this.sent.push(prepared);
    const next = this.outcomes.shift();
    return Promise.resolve(next === undefined ? { status: 'unknown', reason: 'timeout' } : next(prepared));
  }
}

export function world(ports: string[]) {
  const ovs = new FakeOvs(VSWITCH);
  ovs.apply({ Bridge: { [BRIDGE]: { initial: { name: 'br-int', ports: ['set', []] } } } });
  const sb = new FakeReplica(SB);
  sb.apply({ Chassis: { [CHASSIS]: { initial: { name: 'hv1' } } } });
  sb.apply({
    Port_Binding: Object.fromEntries(
      ports.map((name, i) => [
        `00000000-0000-4000-8000-0000000000${String(i + 10)}`,
        {
          initial: {
            logical_port: name,
            type: '',
            options: ['map', [['vif-plug-type', 'dummy']]],
            requested_chassis: ['uuid', CHASSIS],
          },
        },
      ]),
    ),
  });
  return { ovs, sb };
}

/** The reply the server would give and the update it would send for `tx`: commit it into the replica. */
export function commit(ovs: FakeOvs, tx: PreparedTransaction, updateDelayMs?: number): TxnOutcome {
  const uuids = new Map<NonNullable<(typeof tx.inserts)[number]>, string>();
  const ifaceUpdates: Record<string, unknown> = {};
  const portUpdates: Record<string, unknown> = {};
  const portUuids: string[] = [];
  let n = 0;
  const uuidOf = (): string =>
    `00000000-0000-4000-8000-${(0xa00000000000 + ++n + Math.floor(Math.random() * 1e6) * 1000).toString(16).padStart(12, '0')}`;
  const byName = new Map<string, string>();
  for (const ref of tx.inserts) {
    const uuid = uuidOf();
    uuids.set(ref, uuid);
    byName.set(ref.name, uuid);
  }
  for (const op of tx.ops as Record<string, unknown>[]) {
    if (op['op'] !== 'insert') continue;
    const uuid = byName.get(String(op['uuid-name'])) ?? '';
    const row = { ...(op['row'] as Record<string, unknown>) };
    if (op['table'] === 'Interface') ifaceUpdates[uuid] = { insert: row };
    if (op['table'] === 'Port') {
      const ifaces = row['interfaces'] as [string, unknown[]];
      row['interfaces'] = [
        'set',
        (ifaces[1] as [string, string][]).map(([, name]) => ['uuid', byName.get(name) ?? '']),
      ];
      portUpdates[uuid] = { insert: row };
      portUuids.push(uuid);
    }
  }
  const update = {
    Interface: ifaceUpdates,
    Port: portUpdates,
    Bridge: { [BRIDGE]: { modify: { ports: ['set', portUuids.map((u) => ['uuid', u])] } } },
  };
  if (updateDelayMs === undefined) ovs.apply(update);
  else setTimeout(() => ovs.apply(update), updateDelayMs);
  return { status: 'success', results: [], uuids, selected: new Map(), incremented: new Map() };
}

export function insertedNames(tx: PreparedTransaction): string[] {
  return (tx.ops as Record<string, unknown>[])
    .filter((op) => op['op'] === 'insert' && op['table'] === 'Interface')
    .map((op) => String((op['row'] as Record<string, unknown>)['name']));
}
