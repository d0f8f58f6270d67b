/**
 * Coexistence with ovn-controller's own plugging (DESIGN §3.5a) on the real sandbox: ovn-controller
 * is started with `--enable-dummy-vif-plug`, so its built-in provider `dummy` stands in for the
 * `representor` provider that Debian's and Ubuntu's ovn-controller carries with no off switch. The
 * agent runs at default flags except `--providers=dummy` (and `--observe-plug-types` for observe
 * mode). For several ports created at once: exactly one interface per port, no churn (Interface
 * UUIDs stable, no OVS transaction of the agent), every Port_Binding up, states as documented and
 * never `Failed`, and the node condition not degraded by ovn-controller's ports. Then the hand-over
 * from built-in plugging to the agent with `--ownership-marker=ovn-plugged`: no unplug, no replug.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  parseCommandLine,
  startAgent,
  type AgentHandle,
  type AgentStatus,
  type PortStatus,
} from '../../src/agent/index.js';
import { summarizeConditions } from '../../src/agent/kube/index.js';
import {
  asStringMap,
  startOvnController,
  startSandbox,
  waitPortBindingUp,
  waitUntil,
  type CtlRow,
  type OvnController,
  type Sandbox,
} from '../harness/index.js';

const PORTS_AT_ONCE = 6;
const QUIET_MS = 3_000;

async function start(
  sandbox: Sandbox,
  extra: string[] = [],
): Promise<{ agent: AgentHandle; seen: Set<string> }> {
  const parsed = parseCommandLine(
    [
      `--ovs-db=${sandbox.node('hv1').ovs.dbRemote}`,
      '--providers=dummy',
      '--listen=127.0.0.1:0',
      '--log-level=silent',
      ...extra,
    ],
    {},
  );
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  const seen = new Set<string>();
  const agent = await startAgent(parsed.config, {
    onStatus: (status: AgentStatus) => {
      for (const p of status.ports) seen.add(`${p.logicalPort} ${p.state} ${p.reason}`);
    },
  });
  return { agent, seen };
}

/** Adds `names` in ONE NB transaction, all requesting hv1 with the dummy plug type. */
async function addPortsAtOnce(sandbox: Sandbox, names: readonly string[]): Promise<void> {
  const args = ['--may-exist', 'ls-add', 'ls0'];
  for (const name of names)
    args.push(
      '--',
      'lsp-add',
      'ls0',
      name,
      '--',
      'lsp-set-options',
      name,
      'requested-chassis=hv1',
      'vif-plug-type=dummy',
    );
  await sandbox.central.nbctlWaitSb(...args);
}

/** Interfaces on the node carrying an iface-id, by iface-id. */
async function ifacesByPort(sandbox: Sandbox): Promise<Map<string, CtlRow[]>> {
  const out = new Map<string, CtlRow[]>();
  for (const row of await sandbox.node('hv1').ovs.interfaces()) {
    const id = asStringMap(row['external_ids'])['iface-id'];
    if (id === undefined) continue;
    out.set(id, [...(out.get(id) ?? []), row]);
  }
  return out;
}

async function metrics(agent: AgentHandle): Promise<string> {
  return (await fetch(`${agent.url ?? ''}/metrics`)).text();
}

/** The value of one sample line, e.g. `ovn_plug_ports{state="Bound"}`; 0 when absent. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

const txnSeries = (outcome: string) => `ovn_plug_ovs_transactions_total{outcome="${outcome}"}`;

function statusOf(agent: AgentHandle, name: string): PortStatus | undefined {
  return agent.status().ports.find((p) => p.logicalPort === name);
}

/** Waits for every port up, then asserts one interface each and no churn for QUIET_MS. */
async function assertOneInterfaceEachAndQuiet(
  sandbox: Sandbox,
  agent: AgentHandle,
  names: readonly string[],
): Promise<Map<string, CtlRow>> {
  for (const name of names) await waitPortBindingUp(sandbox.central, name);
  await waitUntil(() => names.every((n) => statusOf(agent, n)?.reason !== 'Queued'), {
    description: 'the agent has a state for every port',
  });
  const before = await ifacesByPort(sandbox);
  const metricsBefore = await metrics(agent);
  await new Promise((r) => setTimeout(r, QUIET_MS));
  const after = await ifacesByPort(sandbox);
  const metricsAfter = await metrics(agent);
  const only = new Map<string, CtlRow>();
  for (const name of names) {
    const rows = after.get(name) ?? [];
    // Diagnostics in the assertion message: status, rows.
    expect(
      rows,
      `${name}: ${JSON.stringify(statusOf(agent, name))} rows ${JSON.stringify(rows)}`,
    ).toHaveLength(1);
    expect(rows.map((r) => r['_uuid'])).toEqual((before.get(name) ?? []).map((r) => r['_uuid']));
    only.set(name, rows[0] as CtlRow);
  }
  for (const outcome of ['success', 'tryAgain', 'conflict', 'error', 'unknown'])
    expect(sample(metricsAfter, txnSeries(outcome)), outcome).toBe(sample(metricsBefore, txnSeries(outcome)));
  return only;
}

describe('plug mode (default) beside an ovn-controller that plugs by itself', () => {
  let sandbox: Sandbox;
  let agent: AgentHandle;
  let seen: Set<string>;

  beforeAll(async () => {
    sandbox = await startSandbox({ chassis: ['hv1'], enableDummyVifPlug: true });
    ({ agent, seen } = await start(sandbox));
  }, 60_000);
  afterAll(async () => {
    await agent?.stop();
    await sandbox?.stop();
  });

  it('ports created at once: one interface each, no churn, all up; the built-in’s ports are Conflict naming ovn-controller', async () => {
    const names = Array.from({ length: PORTS_AT_ONCE }, (_, i) => `pm${i}`);
    await addPortsAtOnce(sandbox, names);
    const rows = await assertOneInterfaceEachAndQuiet(sandbox, agent, names);
    let builtIn = 0;
    for (const name of names) {
      const ids = asStringMap(rows.get(name)?.['external_ids']);
      const status = statusOf(agent, name);
      if (ids['ovn-plugged'] === 'dummy') {
        builtIn += 1;
        expect(ids['ovn-plug-agent']).toBeUndefined();
        expect(status).toMatchObject({ state: 'Conflict', reason: 'PluggedByOvnController' });
        expect(status?.message).toContain("ovn-controller's built-in plugging");
      } else {
        expect(ids['ovn-plug-agent']).toBe('dummy');
        expect(status).toMatchObject({ state: 'Bound' });
      }
    }
    const text = await metrics(agent);
    expect(agent.status().ports.filter((p) => p.pluggedByOvnController === true)).toHaveLength(builtIn);
    expect(sample(text, txnSeries('error'))).toBe(0);
    const [, degraded] = summarizeConditions(agent.status());
    expect(degraded).toMatchObject({ status: 'False', reason: 'NoPortProblems' });
    expect([...seen].filter((s) => s.includes(' Failed '))).toEqual([]);
  });

  it('ports created while ovn-controller is paused are the agent’s: Bound, and ovn-controller does not plug a second one', async () => {
    const names = Array.from({ length: 3 }, (_, i) => `pp${i}`);
    const controller = sandbox.node('hv1').controller as OvnController;
    controller.pause();
    try {
      await addPortsAtOnce(sandbox, names);
      await waitUntil(
        async () => {
          const byPort = await ifacesByPort(sandbox);
          return names.every((n) => byPort.get(n)?.length === 1);
        },
        { description: 'the agent plugged the ports while ovn-controller is paused' },
      );
    } finally {
      controller.resume();
    }
    const rows = await assertOneInterfaceEachAndQuiet(sandbox, agent, names);
    for (const name of names) {
      expect(asStringMap(rows.get(name)?.['external_ids'])).toMatchObject({ 'ovn-plug-agent': 'dummy' });
      expect(asStringMap(rows.get(name)?.['external_ids'])['ovn-plugged']).toBeUndefined();
      await waitUntil(() => statusOf(agent, name)?.state === 'Bound', { description: `${name} Bound` });
    }
    expect([...seen].filter((s) => s.includes(' Failed '))).toEqual([]);
  });

  it('a deleted port: the agent unplugs its own at once and never touches the built-in’s', async () => {
    const before = await ifacesByPort(sandbox);
    const pm0 = before.get('pm0')?.[0];
    const builtIn = asStringMap(pm0?.['external_ids'])['ovn-plugged'] === 'dummy';
    await sandbox.central.nbctlWaitSb('lsp-del', 'pm0', '--', 'lsp-del', 'pp0');
    await waitUntil(async () => !(await ifacesByPort(sandbox)).has('pp0'), { description: 'pp0 unplugged' });
    await new Promise((r) => setTimeout(r, 1_000));
    const after = await ifacesByPort(sandbox);
    // Debian's ovn-controller 23.03.1 leaves the interface of a deleted port in place (observed):
    // the agent must not remove it, it carries ovn-controller's marker, not ours.
    if (builtIn) expect(after.get('pm0')?.map((r) => r['_uuid']) ?? []).toEqual([pm0?.['_uuid']]);
    else expect(after.has('pm0')).toBe(false);
    expect(sample(await metrics(agent), txnSeries('error'))).toBe(0);
  });
});

describe('observe mode (--observe-plug-types=dummy)', () => {
  let sandbox: Sandbox;
  let agent: AgentHandle;
  let seen: Set<string>;

  beforeAll(async () => {
    sandbox = await startSandbox({ chassis: ['hv1'], enableDummyVifPlug: true });
    ({ agent, seen } = await start(sandbox, ['--observe-plug-types=dummy']));
  }, 60_000);
  afterAll(async () => {
    await agent?.stop();
    await sandbox?.stop();
  });

  it('never writes; reports the built-in’s ports Bound with a reason naming ovn-controller; Ready, not degraded', async () => {
    const names = Array.from({ length: PORTS_AT_ONCE }, (_, i) => `ob${i}`);
    await addPortsAtOnce(sandbox, names);
    const rows = await assertOneInterfaceEachAndQuiet(sandbox, agent, names);
    for (const name of names) {
      expect(asStringMap(rows.get(name)?.['external_ids'])).toMatchObject({ 'ovn-plugged': 'dummy' });
      await waitUntil(() => statusOf(agent, name)?.state === 'Bound', { description: `${name} Bound` });
      const status = statusOf(agent, name);
      expect(status).toMatchObject({ reason: 'PluggedByOvnController', interfaceName: name });
      expect(status?.message).toContain("ovn-controller's built-in plugging (observe mode)");
    }
    const text = await metrics(agent);
    for (const outcome of ['success', 'tryAgain', 'conflict', 'error', 'unknown'])
      expect(sample(text, txnSeries(outcome)), outcome).toBe(0);
    expect(sample(text, 'ovn_plug_ports{state="Bound"}')).toBe(PORTS_AT_ONCE);
    expect(agent.status().ports.filter((p) => p.pluggedByOvnController === true)).toHaveLength(PORTS_AT_ONCE);
    const [ready, degraded] = summarizeConditions(agent.status());
    expect(ready).toMatchObject({ status: 'True', reason: 'AllPortsBound' });
    expect(degraded).toMatchObject({ status: 'False' });
    expect([...seen].filter((s) => s.includes(' Failed '))).toEqual([]);
  });
});

describe('hand-over from built-in plugging to the agent (--ownership-marker=ovn-plugged)', () => {
  let sandbox: Sandbox;
  let controller: OvnController | undefined;
  let agent: AgentHandle | undefined;

  beforeAll(async () => {
    sandbox = await startSandbox({ chassis: ['hv1'], withoutController: true });
  }, 60_000);
  afterAll(async () => {
    await agent?.stop();
    await controller?.stop();
    await sandbox?.stop();
  });

  it('adopts the built-in’s interfaces with no unplug and no replug', async () => {
    const node = sandbox.node('hv1');
    controller = await startOvnController({
      ovs: node.ovs,
      central: sandbox.central,
      enableDummyVifPlug: true,
    });
    const names = Array.from({ length: 4 }, (_, i) => `ho${i}`);
    await addPortsAtOnce(sandbox, names);
    for (const name of names) await waitPortBindingUp(sandbox.central, name);
    const before = await ifacesByPort(sandbox);
    for (const name of names)
      expect(asStringMap(before.get(name)?.[0]?.['external_ids'])).toMatchObject({ 'ovn-plugged': 'dummy' });

    // Built-in plugging off: ovn-controller restarted without --enable-dummy-vif-plug.
    await controller.stop();
    controller = await startOvnController({ ovs: node.ovs, central: sandbox.central });
    ({ agent } = await start(sandbox, ['--ownership-marker=ovn-plugged']));
    const adopted = agent;
    for (const name of names)
      await waitUntil(() => statusOf(adopted, name)?.state === 'Bound', { description: `${name} Bound` });
    const after = await assertOneInterfaceEachAndQuiet(sandbox, adopted, names);
    for (const name of names) expect(after.get(name)?.['_uuid']).toBe(before.get(name)?.[0]?.['_uuid']);
    const text = await metrics(adopted);
    for (const outcome of ['success', 'tryAgain', 'conflict', 'error', 'unknown'])
      expect(sample(text, txnSeries(outcome)), outcome).toBe(0);

    // From now on the agent plugs: a new port gets an interface marked ovn-plugged by the agent.
    await addPortsAtOnce(sandbox, ['ho-new']);
    await waitPortBindingUp(sandbox.central, 'ho-new');
    await waitUntil(() => statusOf(adopted, 'ho-new')?.state === 'Bound', { description: 'ho-new Bound' });
    // And a deleted one is unplugged by the agent.
    const ho0 = after.get('ho0')?.['_uuid'];
    await sandbox.central.nbctlWaitSb('lsp-del', 'ho0');
    await waitUntil(async () => !(await node.ovs.interfaces()).some((r) => r['_uuid'] === ho0), {
      description: 'ho0 unplugged by the agent',
    });
  });
});
