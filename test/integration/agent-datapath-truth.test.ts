/**
 * Issue 8 part 3 on the real sandbox, at default flags: `Bound` means the datapath works as far as
 * the agent can see (DESIGN §3.5). ovs-vswitchd's dummy datapath drives a netdev's administrative
 * and carrier state together (`netdev-dummy/set-admin-state`), and reports them in the Interface's
 * `admin_state` and `link_state` columns: the port goes `Down` (informational) and back to `Bound`,
 * and every view — `/status`, metrics, the status table — says so in one vocabulary.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  formatStatusTable,
  parseCommandLine,
  startAgent,
  type AgentHandle,
  type PortStatus,
} from '../../src/agent/index.js';
import { summarizeConditions } from '../../src/agent/kube/index.js';
import {
  asStringMap,
  lspAdd,
  startSandbox,
  waitPortBindingUp,
  waitUntil,
  type Sandbox,
} from '../harness/index.js';
import { metricValue } from './support/metrics.js';

let sandbox: Sandbox;
let agent: AgentHandle;

beforeAll(async () => {
  sandbox = await startSandbox({ chassis: ['hv1'] });
  const parsed = parseCommandLine(
    [
      `--ovs-db=${sandbox.node('hv1').ovs.dbRemote}`,
      '--providers=dummy',
      '--listen=127.0.0.1:0',
      '--log-level=silent',
    ],
    {},
  );
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  agent = await startAgent(parsed.config);
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  await sandbox?.stop();
});

function waitPort(name: string, check: (p: PortStatus) => boolean, what: string): Promise<PortStatus> {
  return waitUntil(
    () => {
      const port = agent.status().ports.find((p) => p.logicalPort === name);
      return port !== undefined && check(port) ? port : undefined;
    },
    { description: `${name} ${what}`, timeoutMs: 15_000, maxIntervalMs: 50 },
  );
}

async function ifaceRow(name: string) {
  return (await sandbox.node('hv1').ovs.interfaces()).find((row) => row['name'] === name);
}

describe('datapath truth (issue 8 part 3, DESIGN §3.5)', () => {
  it('a bound port whose link goes down is Down with the reason, then Bound again; Down does not degrade', async () => {
    const ovs = sandbox.node('hv1').ovs;
    await lspAdd(sandbox.central, 'vm-link', {
      options: { 'requested-chassis': 'hv1', 'vif-plug-type': 'dummy' },
    });
    await waitPortBindingUp(sandbox.central, 'vm-link');
    await waitPort('vm-link', (p) => p.state === 'Bound', 'Bound');
    const uuid = (await ifaceRow('vm-link'))?.['_uuid'];

    await ovs.appctl('netdev-dummy/set-admin-state', 'vm-link', 'down');
    await waitUntil(async () => (await ifaceRow('vm-link'))?.['link_state'] === 'down', {
      description: 'ovs-vswitchd reports link_state down',
    });
    const down = await waitPort('vm-link', (p) => p.state === 'Down', 'Down');
    expect(down.reason).toBe('AdminDown');
    expect(down.message).toContain('admin_state down');
    const url = agent.url ?? '';
    expect(await metricValue(url, 'ovn_plug_ports', { state: 'Down' })).toBe(1);
    expect(await metricValue(url, 'ovn_plug_ports', { state: 'Bound' })).toBe(0);
    const fromHttp = (await (await fetch(`${url}/status`)).json()) as { ports: PortStatus[] };
    expect(fromHttp.ports.find((p) => p.logicalPort === 'vm-link')).toMatchObject({
      state: 'Down',
      reason: 'AdminDown',
    });
    expect(formatStatusTable(agent.status(), Date.now())).toMatch(/vm-link\s+Down\s+AdminDown/);
    // Informational: the node stays Ready and not Degraded (a stopped VM takes its VF's link down).
    const conditions = summarizeConditions(agent.status());
    expect(conditions.find((c) => c.type === 'OvnPlugDegraded')?.status).toBe('False');
    expect(conditions.find((c) => c.type === 'OvnPlugReady')?.status).toBe('True');
    // Nothing was written to OVS for it: the same interface row, untouched.
    expect((await ifaceRow('vm-link'))?.['_uuid']).toEqual(uuid);
    expect(asStringMap((await ifaceRow('vm-link'))?.['external_ids'])['iface-id']).toBe('vm-link');

    await ovs.appctl('netdev-dummy/set-admin-state', 'vm-link', 'up');
    const up = await waitPort('vm-link', (p) => p.state === 'Bound', 'Bound again');
    expect(up.reason).toBe('Bound');
    expect(await metricValue(url, 'ovn_plug_ports', { state: 'Down' })).toBe(0);
    expect((await ifaceRow('vm-link'))?.['_uuid']).toEqual(uuid);
  });
});
