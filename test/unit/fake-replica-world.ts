/**
 * FAKE transaction outcomes over real replicas, for reconciler unit tests: `Replica` caches fed
 * with update2 messages, and an OVS side whose `transact` builds the real operations and answers
 * with scripted outcomes. `commit()` plays the server: it applies a transaction to the replica.
 * (Same technique as agent-reconciler-fake-replica.test.ts, shared for new test files.)
 *
 * `fakeReconcilerTime()` is the FAKE clock the reconciler tests drive it with: its `now`, `timers`
 * and `defer` go into the Reconciler's options, so rounds run only when the test flushes and
 * timers fire only when the test advances time — no real waiting, no polling.
 */
import {
  parseSchema,
  Replica,
  TransactionBuilder,
  type ClientEvents,
  type PreparedTransaction,
  type TxnOutcome,
} from '../../src/ovsdb/index.js';
import type { Timer, Timers } from '../../src/plug/index.js';
import { loadSchemaJson } from '../fixtures/ovsdb-schemas/schemas.js';
import { FakeOvsdbClock } from '../fakes/fake-ovsdb-clock.js';

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

/** Rows inserted by {@link commit} so far: their UUIDs never repeat, however many commits. */
let committedRows = 0;

/** A delayed replica update: `ms` of (fake) time on `timers`. */
export interface Later {
  readonly ms: number;
  readonly timers: Timers;
}

/**
 * The reply the server would give and the update it would send for `tx`: commit it into the
 * replica, at once or `later`.
 */
export function commit(ovs: Pick<FakeReplica, 'apply'>, tx: PreparedTransaction, later?: Later): TxnOutcome {
  const uuids = new Map<NonNullable<(typeof tx.inserts)[number]>, string>();
  const ifaceUpdates: Record<string, unknown> = {};
  const portUpdates: Record<string, unknown> = {};
  const portUuids: string[] = [];
  const uuidOf = (): string =>
    `00000000-0000-4000-8000-${(0xa00000000000 + ++committedRows).toString(16).padStart(12, '0')}`;
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
  if (later === undefined) ovs.apply(update);
  else later.timers.setTimer(() => ovs.apply(update), later.ms);
  return { status: 'success', results: [], uuids, selected: new Map(), incremented: new Map() };
}

export function insertedNames(tx: PreparedTransaction): string[] {
  return (tx.ops as Record<string, unknown>[])
    .filter((op) => op['op'] === 'insert' && op['table'] === 'Interface')
    .map((op) => String((op['row'] as Record<string, unknown>)['name']));
}

/** The FAKE time a reconciler test runs on (see the file header). */
export interface FakeReconcilerTime {
  readonly clock: FakeOvsdbClock;
  /**
   * The Reconciler's `now`, `monotonicNow` (both this fake clock), `timers`, and `defer` (queued
   * until the test flushes; cancellable, as the contract says): spread into its options, so none
   * of them is left on real time.
   */
  readonly runtime: {
    readonly now: () => number;
    readonly monotonicNow: () => number;
    readonly timers: Timers;
    readonly defer: (fn: () => void) => Timer;
  };
  /** The fake clock's time, as the Reconciler reads it. */
  readonly now: () => number;
  /** The same timers (the fake server's delayed updates use them). */
  readonly timers: Timers;
  /**
   * Runs the deferred rounds and the promise callbacks they start, until none is left; no time
   * passes. Throws when rounds keep deferring rounds (a loop; FakeOvsdbClock.runIo's bound).
   */
  flush(): Promise<void>;
  /** Flushes, then moves the clock forward by `ms`, firing what falls due in order and flushing after each. */
  advance(ms: number): Promise<void>;
  /** Fake milliseconds since this time was made. */
  elapsed(): number;
}

/**
 * A fake clock for the Reconciler: `now`, `timers`, `defer` and `monotonicNow` (which its
 * duty-cycle cap measures rounds with) all read it, so a synchronous round takes 0 fake ms and real
 * CPU time never arms a round timer.
 */
export function fakeReconcilerTime(startMs = 1_700_000_000_000): FakeReconcilerTime {
  const clock = new FakeOvsdbClock(startMs);
  const runtime = {
    now: clock.now,
    monotonicNow: clock.now,
    timers: { setTimer: (callback, delayMs) => clock.setTimer(callback, delayMs) },
    defer: (fn) => {
      let live = true;
      clock.afterPendingIo(() => {
        if (live) fn();
      });
      return { cancel: () => void (live = false) };
    },
  } satisfies FakeReconcilerTime['runtime'];
  return {
    clock,
    runtime,
    now: runtime.now,
    timers: runtime.timers,
    flush: () => clock.runIo(),
    advance: async (ms) => {
      await clock.runIo(); // what is pending now runs now, before time moves
      await clock.advance(ms);
    },
    elapsed: () => clock.now() - startMs,
  };
}
