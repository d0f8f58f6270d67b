/**
 * `npx tsx bench/plug-txn.ts` — the agent's own cost of plugging ONE port on a node that already
 * has N plugged ports (DESIGN §4: SB-update → OVS-commit ≤ 2 ms at 10,000), split into the steps
 * the reconciler's round takes, in-process, no servers:
 * - rows: `planRows` (replica rows → planner input; reconciler.ts),
 * - plan: `planPorts` over N + 1 wanted ports,
 * - write: `OvsWriter.sendPlan` building the transaction (`#write` + `build()`),
 * - encode: the JSON-RPC `transact` request as the client serializes it (`stringifyJson`),
 * and the request's size. The replicas are real `Replica` caches fed with update2 messages.
 *
 * Options: `--ports=N` (default 10000), `--runs=R` (default 200; the first 20 % are warm-up).
 */
import { performance } from 'node:perf_hooks';
import {
  parseSchema,
  Replica,
  TransactionBuilder,
  type PreparedTransaction,
  type TxnOutcome,
} from '../src/ovsdb/index.js';
import { stringifyJson } from '../src/ovsdb/framer.js';
import { noopLogger, planPorts, ProviderRegistry } from '../src/plug/index.js';
import { DummyProvider } from '../src/providers/dummy/index.js';
import { OvsWriter, planRows, workOf } from '../src/agent/index.js';
import type { OvsReplica } from '../src/agent/reconciler-options.js';
import { loadSchemaJson } from '../test/fixtures/ovsdb-schemas/schemas.js';
import { median } from './support/index.js';

const arg = (name: string, fallback: number): number =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);
const N = arg('ports', 10_000);
const RUNS = arg('runs', 200);

const VSWITCH = parseSchema(loadSchemaJson('vswitch'));
const SB = parseSchema(loadSchemaJson('ovn-sb'));
const BRIDGE = '00000000-0000-4000-8000-00000000b001';
const CHASSIS = '00000000-0000-4000-8000-0000000c0001';
const uuid = (kind: number, i: number): string =>
  `00000000-0000-4000-${(0x8000 + kind).toString(16)}-${i.toString(16).padStart(12, '0')}`;

/** The OVS side: `transact` builds and encodes the request like the client, then answers `unchanged`. */
class MeasuredOvs {
  readonly replica = new Replica(VSWITCH);
  last: PreparedTransaction | undefined;
  bytes = 0;
  encodeMs = 0;
  get seqno(): number {
    return this.replica.seqno;
  }
  table(name: string) {
    return this.replica.table(name);
  }
  transact(build: (tx: TransactionBuilder) => void): Promise<TxnOutcome> {
    const builder = new TransactionBuilder(VSWITCH);
    build(builder);
    builder.assertLock('ovn_plug_agent');
    const tx = builder.build();
    const t0 = performance.now();
    const text = stringifyJson({ method: 'transact', params: tx.params, id: 1 });
    this.encodeMs = performance.now() - t0;
    this.bytes = Buffer.byteLength(text);
    this.last = tx;
    return Promise.resolve({ status: 'unchanged' });
  }
  on(): this {
    return this;
  }
  off(): this {
    return this;
  }
}

async function main(): Promise<void> {
  const ovs = new MeasuredOvs();
  const sb = new Replica(SB);
  sb.applyUpdate('update2', { Chassis: { [CHASSIS]: { initial: { name: 'hv1' } } } });
  const bindings: Record<string, unknown> = {};
  const ifaces: Record<string, unknown> = {};
  const ports: Record<string, unknown> = {};
  const portUuids: unknown[] = [];
  for (let i = 0; i <= N; i++) {
    const name = `lp${i}`;
    bindings[uuid(1, i)] = {
      initial: {
        logical_port: name,
        type: '',
        options: [
          'map',
          [
            ['vif-plug-type', 'dummy'],
            ['vif-plug-mtu-request', '1500'],
          ],
        ],
        requested_chassis: ['uuid', CHASSIS],
      },
    };
    if (i === N) break; // the one port to plug
    ifaces[uuid(2, i)] = {
      initial: {
        name,
        type: 'internal',
        options: ['map', [['vif-plug-dummy-option', 'value']]],
        mtu_request: 1500,
        external_ids: [
          'map',
          [
            ['iface-id', name],
            ['ovn-plug-agent', 'dummy'],
          ],
        ],
        ofport: i + 1,
      },
    };
    ports[uuid(3, i)] = { initial: { name, interfaces: ['uuid', uuid(2, i)] } };
    portUuids.push(['uuid', uuid(3, i)]);
  }
  sb.applyUpdate('update2', { Port_Binding: bindings });
  ovs.replica.applyUpdate('update2', {
    Interface: ifaces,
    Port: ports,
    Bridge: { [BRIDGE]: { initial: { name: 'br-int', ports: ['set', portUuids] } } },
  });
  const registry = new ProviderRegistry();
  await registry.register(new DummyProvider());
  const writer = new OvsWriter({
    ovs: ovs as unknown as OvsReplica,
    ownershipKey: 'ovn-plug-agent',
    logger: noopLogger,
  });
  const samples = {
    rows: [] as number[],
    plan: [] as number[],
    write: [] as number[],
    encode: [] as number[],
  };
  for (let run = 0; run < RUNS; run++) {
    const t0 = performance.now();
    const rows = planRows(sb, ovs.replica);
    const t1 = performance.now();
    const plan = planPorts({
      chassisUuid: CHASSIS,
      integrationBridge: 'br-int',
      ...rows,
      providers: registry.lookup,
      config: { ownershipKey: 'ovn-plug-agent', canRemove: true },
    });
    const t2 = performance.now();
    if (plan.create.length !== 1 || plan.update.length > 0)
      throw new Error(`planned ${plan.create.length} creates, ${plan.update.length} updates; expected 1, 0`);
    await writer.sendPlan(plan, workOf(plan), 'br-int');
    const t3 = performance.now();
    if (run < RUNS / 5) continue;
    samples.rows.push(t1 - t0);
    samples.plan.push(t2 - t1);
    samples.write.push(t3 - t2 - ovs.encodeMs);
    samples.encode.push(ovs.encodeMs);
  }
  const f = (xs: number[]): string => median(xs).toFixed(3);
  const ops = (ovs.last?.ops ?? []).map(
    (op) => `${String(op['op'])}:${typeof op['table'] === 'string' ? op['table'] : ''}`,
  );
  console.log(
    `one-port plug with ${N} plugged ports: request ${ovs.bytes} bytes, ops ${ops.slice(0, 20).join(' ')}`,
  );
  console.log(
    `median ms: rows ${f(samples.rows)} plan ${f(samples.plan)} write+build ${f(samples.write)} encode ${f(samples.encode)}`,
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
