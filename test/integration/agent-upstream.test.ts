/**
 * The agent against a real OVN sandbox (NB, SB, ovn-northd, two chassis each with ovs-vswitchd on
 * the dummy datapath and an UNMODIFIED ovn-controller — no `--enable-dummy-vif-plug`), replaying
 * upstream's vif-plug scenarios (reference/upstream-vif-plug.md §2.2, §2.3, §2.6) with our agent
 * doing the plugging. Where DESIGN deliberately differs from upstream, the test name cites the rule.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlugAnswer, PlugProvider, PlugRequest } from '../../src/plug/index.js';
import { parseCommandLine, startAgent, type AgentHandle, type Config, type PortStatus } from '../../src/agent/index.js';
import {
  asStringMap,
  getPortBinding,
  lspAdd,
  optionalValue,
  startSandbox,
  waitPortBindingUp,
  waitUntil,
  type CtlRow,
  type Sandbox,
  type SandboxNode,
} from '../harness/index.js';

/** A provider whose interface name comes from an option, to exercise replugs (DESIGN §3.4). */
class NamedByOptionProvider implements PlugProvider {
  readonly type = 'named';
  maintainedIfaceOptions(): readonly string[] {
    return [];
  }
  prepare(request: PlugRequest): PlugAnswer {
    if (request.operation === 'remove') return { kind: 'ready', name: request.existing?.name ?? request.logicalPort, options: {} };
    const name = request.options['vif-plug:named:name'];
    if (name === undefined) return { kind: 'notNow', reason: 'vif-plug:named:name is not set', code: 'NameMissing' };
    return { kind: 'ready', name, type: 'internal', options: {} };
  }
}

function configFor(node: SandboxNode, extra: string[] = []): Config {
  const parsed = parseCommandLine(
    [`--ovs-db=${node.ovs.dbRemote}`, '--providers=dummy', '--listen=127.0.0.1:0', '--log-level=silent', '--resync-interval=2s', ...extra],
    {},
  );
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return parsed.config;
}

let sandbox: Sandbox;
const agents = new Map<string, AgentHandle>();

beforeAll(async () => {
  sandbox = await startSandbox({ chassis: ['hv1', 'hv2'] });
  for (const node of sandbox.nodes) {
    agents.set(node.chassis, await startAgent(configFor(node), { extraProviders: [new NamedByOptionProvider()] }));
  }
}, 60_000);

afterAll(async () => {
  for (const agent of agents.values()) await agent.stop();
  await sandbox?.stop();
});

const node = (chassis: string): SandboxNode => sandbox.node(chassis);
const agent = (chassis: string): AgentHandle => {
  const a = agents.get(chassis);
  if (a === undefined) throw new Error(`no agent for ${chassis}`);
  return a;
};

async function interfaces(chassis: string): Promise<CtlRow[]> {
  return node(chassis).ovs.interfaces();
}

async function ifaceByName(chassis: string, name: string): Promise<CtlRow | undefined> {
  return (await interfaces(chassis)).find((row) => row['name'] === name);
}

async function ifacesFor(chassis: string, logicalPort: string): Promise<CtlRow[]> {
  return (await interfaces(chassis)).filter((row) => asStringMap(row['external_ids'])['iface-id'] === logicalPort);
}

function waitIface(chassis: string, name: string, check: (row: CtlRow) => boolean, description: string): Promise<CtlRow> {
  return waitUntil(
    async () => {
      const row = await ifaceByName(chassis, name);
      return row !== undefined && check(row) ? row : undefined;
    },
    { description: `${chassis} interface ${name}: ${description}`, timeoutMs: 15_000, maxIntervalMs: 100 },
  );
}

function waitIfaceGone(chassis: string, uuid: unknown): Promise<boolean> {
  return waitUntil(async () => !(await interfaces(chassis)).some((row) => row['_uuid'] === uuid), {
    description: `${chassis} interface ${String(uuid)} gone`,
    timeoutMs: 15_000,
    maxIntervalMs: 100,
  });
}

function waitPortState(chassis: string, logicalPort: string, check: (p: PortStatus) => boolean, description: string): Promise<PortStatus> {
  return waitUntil(
    () => {
      const port = agent(chassis).status().ports.find((p) => p.logicalPort === logicalPort);
      return port !== undefined && check(port) ? port : undefined;
    },
    { description: `${chassis} status of ${logicalPort}: ${description}`, timeoutMs: 15_000, maxIntervalMs: 100 },
  );
}

const mtuOf = (row: CtlRow): unknown => optionalValue(row['mtu_request']);
const nb = (...args: string[]): Promise<string> => sandbox.central.nbctl(...args);

describe('upstream "ovn-controller - VIF plugging" (§2.2) with the agent', () => {
  let lsp1Uuid: unknown;

  it('plugs lsp1 on hv1 and lsp2 on hv2 with the dummy provider, and ovn-controller binds them', async () => {
    await lspAdd(sandbox.central, 'lsp1', { switchName: 'lsw0', options: { 'requested-chassis': 'hv1', 'vif-plug-type': 'dummy', 'vif-plug-mtu-request': '420' } });
    await nb('lsp-set-addresses', 'lsp1', 'f0:00:00:00:00:01 172.16.0.101');
    await lspAdd(sandbox.central, 'lsp2', { switchName: 'lsw0', options: { 'requested-chassis': 'hv2', 'vif-plug-type': 'dummy', 'vif-plug-mtu-request': '420' } });
    await nb('lsp-set-addresses', 'lsp2', 'f0:00:00:00:00:02 172.16.0.102');
    await waitPortBindingUp(sandbox.central, 'lsp1');
    await waitPortBindingUp(sandbox.central, 'lsp2');

    const iface = await waitIface('hv1', 'lsp1', () => true, 'exists');
    lsp1Uuid = iface['_uuid'];
    expect(iface['type']).toBe('internal');
    expect(asStringMap(iface['options'])).toEqual({ 'vif-plug-dummy-option': 'value' });
    expect(mtuOf(iface)).toBe(420);
    expect(asStringMap(iface['external_ids'])).toMatchObject({ 'iface-id': 'lsp1', 'ovn-plug-agent': 'dummy' });
    expect(asStringMap(iface['external_ids'])['ovn-plugged']).toBeUndefined();
    expect(await ifaceByName('hv2', 'lsp1')).toBeUndefined();
    expect(await ifaceByName('hv2', 'lsp2')).toBeDefined();

    const bound = await waitPortState('hv1', 'lsp1', (p) => p.state === 'Bound', 'Bound');
    expect(bound).toMatchObject({ interfaceName: 'lsp1', provider: 'dummy', reason: 'Bound' });
    expect(bound.bindLatencyMs).toBeGreaterThan(0);
    expect(bound.plugLatencyMs).toBeLessThanOrEqual(bound.bindLatencyMs ?? 0);
  });

  it('applies a new vif-plug-mtu-request to the same interface', async () => {
    await nb('lsp-set-options', 'lsp1', 'requested-chassis=hv1', 'vif-plug-type=dummy', 'vif-plug-mtu-request=430');
    const row = await waitIface('hv1', 'lsp1', (r) => mtuOf(r) === 430, 'mtu_request 430');
    expect(row['_uuid']).toBe(lsp1Uuid);
  });

  it('reverts a local mtu_request change', async () => {
    await node('hv1').ovs.vsctl('set', 'Interface', 'lsp1', 'mtu_request=440');
    const row = await waitIface('hv1', 'lsp1', (r) => mtuOf(r) === 430, 'mtu_request back to 430');
    expect(row['_uuid']).toBe(lsp1Uuid);
  });

  it('unplugs when requested-chassis names a non-existent chassis', async () => {
    await nb('set', 'Logical_Switch_Port', 'lsp1', 'options:requested-chassis=non-existent-chassis');
    await waitIfaceGone('hv1', lsp1Uuid);
    await waitUntil(() => !agent('hv1').status().ports.some((p) => p.logicalPort === 'lsp1'), { description: 'lsp1 leaves the hv1 status' });
  });

  it('keeps lsp2 on hv2 until the logical port is deleted, then unplugs it', async () => {
    const lsp2 = await ifaceByName('hv2', 'lsp2');
    expect(lsp2).toBeDefined();
    await nb('lsp-del', 'lsp2');
    await waitIfaceGone('hv2', lsp2?.['_uuid']);
  });

  it('removes a stale interface carrying our marker and an unknown iface-id', async () => {
    await node('hv2').ovs.vsctl('add-port', 'br-int', 'vif1', '--', 'set', 'Interface', 'vif1', 'type=internal', 'external-ids:ovn-plug-agent=dummy', 'external-ids:iface-id=non-existing-lsp');
    const row = await ifaceByName('hv2', 'vif1');
    await waitIfaceGone('hv2', row?.['_uuid']);
  });

  it('leaves a stale interface marked only with ovn-plugged alone (marker key, DESIGN §3.2)', async () => {
    await node('hv2').ovs.vsctl('add-port', 'br-int', 'vif2', '--', 'set', 'Interface', 'vif2', 'type=internal', 'external-ids:ovn-plugged=dummy', 'external-ids:iface-id=non-existing-lsp2');
    await agent('hv2').reconciler.schedule('timer');
    await new Promise((r) => setTimeout(r, 500));
    expect(await ifaceByName('hv2', 'vif2')).toBeDefined();
    await node('hv2').ovs.vsctl('del-port', 'br-int', 'vif2');
  });

  it('reports Conflict and leaves a foreign interface carrying the iface-id untouched', async () => {
    await node('hv2').ovs.vsctl('add-port', 'br-int', 'vif3', '--', 'set', 'Interface', 'vif3', 'type=internal', 'external-ids:iface-id=lsp3');
    await lspAdd(sandbox.central, 'lsp3', { switchName: 'lsw0', options: { 'requested-chassis': 'hv2' } });
    await nb('lsp-set-addresses', 'lsp3', 'f0:00:00:00:00:03 172.16.0.103');
    await waitPortBindingUp(sandbox.central, 'lsp3');
    const before = await ifaceByName('hv2', 'vif3');
    await nb('lsp-set-options', 'lsp3', 'requested-chassis=hv2', 'vif-plug-type=dummy');
    const status = await waitPortState('hv2', 'lsp3', (p) => p.state === 'Conflict', 'Conflict');
    expect(status.reason).toBe('ForeignInterface');
    expect(status.message).toContain('vif3');
    const after = await ifaceByName('hv2', 'vif3');
    expect(after).toEqual(before);
    expect(await ifaceByName('hv2', 'lsp3')).toBeUndefined();
  });
});
