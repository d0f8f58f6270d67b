/**
 * The agent against a real OVN sandbox (NB, SB, ovn-northd, two chassis each with ovs-vswitchd on
 * the dummy datapath and an UNMODIFIED ovn-controller — no `--enable-dummy-vif-plug`), replaying
 * upstream's vif-plug scenarios (reference/upstream-vif-plug.md §2.2, §2.3, §2.6) with our agent
 * doing the plugging. Where DESIGN deliberately differs from upstream, the test name cites the rule.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlugAnswer, PlugProvider, PlugRequest } from '../../src/plug/index.js';
import {
  parseCommandLine,
  startAgent,
  type AgentHandle,
  type Config,
  type PortStatus,
} from '../../src/agent/index.js';
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
    if (request.operation === 'remove')
      return { kind: 'ready', name: request.existing?.name ?? request.logicalPort, options: {} };
    const name = request.options['vif-plug:named:name'];
    if (name === undefined)
      return { kind: 'notNow', reason: 'vif-plug:named:name is not set', code: 'NameMissing' };
    return { kind: 'ready', name, type: 'internal', options: {} };
  }
}

function configFor(node: SandboxNode, extra: string[] = []): Config {
  const parsed = parseCommandLine(
    [
      `--ovs-db=${node.ovs.dbRemote}`,
      '--providers=dummy',
      '--listen=127.0.0.1:0',
      '--log-level=silent',
      '--resync-interval=2s',
      ...extra,
    ],
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
    agents.set(
      node.chassis,
      await startAgent(configFor(node), { extraProviders: [new NamedByOptionProvider()] }),
    );
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
  return (await interfaces(chassis)).filter(
    (row) => asStringMap(row['external_ids'])['iface-id'] === logicalPort,
  );
}

function waitIface(
  chassis: string,
  name: string,
  check: (row: CtlRow) => boolean,
  description: string,
): Promise<CtlRow> {
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

function waitPortState(
  chassis: string,
  logicalPort: string,
  check: (p: PortStatus) => boolean,
  description: string,
): Promise<PortStatus> {
  return waitUntil(
    () => {
      const port = agent(chassis)
        .status()
        .ports.find((p) => p.logicalPort === logicalPort);
      return port !== undefined && check(port) ? port : undefined;
    },
    {
      description: `${chassis} status of ${logicalPort}: ${description}`,
      timeoutMs: 15_000,
      maxIntervalMs: 100,
    },
  );
}

const mtuOf = (row: CtlRow): unknown => optionalValue(row['mtu_request']);
const nb = (...args: string[]): Promise<string> => sandbox.central.nbctl(...args);

describe('upstream "ovn-controller - VIF plugging" (§2.2) with the agent', () => {
  let lsp1Uuid: unknown;

  it('plugs lsp1 on hv1 and lsp2 on hv2 with the dummy provider, and ovn-controller binds them', async () => {
    await lspAdd(sandbox.central, 'lsp1', {
      switchName: 'lsw0',
      options: { 'requested-chassis': 'hv1', 'vif-plug-type': 'dummy', 'vif-plug-mtu-request': '420' },
    });
    await nb('lsp-set-addresses', 'lsp1', 'f0:00:00:00:00:01 172.16.0.101');
    await lspAdd(sandbox.central, 'lsp2', {
      switchName: 'lsw0',
      options: { 'requested-chassis': 'hv2', 'vif-plug-type': 'dummy', 'vif-plug-mtu-request': '420' },
    });
    await nb('lsp-set-addresses', 'lsp2', 'f0:00:00:00:00:02 172.16.0.102');
    await waitPortBindingUp(sandbox.central, 'lsp1');
    await waitPortBindingUp(sandbox.central, 'lsp2');

    const iface = await waitIface('hv1', 'lsp1', () => true, 'exists');
    lsp1Uuid = iface['_uuid'];
    expect(iface['type']).toBe('internal');
    expect(asStringMap(iface['options'])).toEqual({ 'vif-plug-dummy-option': 'value' });
    expect(mtuOf(iface)).toBe(420);
    expect(asStringMap(iface['external_ids'])).toMatchObject({
      'iface-id': 'lsp1',
      'ovn-plug-agent': 'dummy',
    });
    expect(asStringMap(iface['external_ids'])['ovn-plugged']).toBeUndefined();
    expect(await ifaceByName('hv2', 'lsp1')).toBeUndefined();
    expect(await ifaceByName('hv2', 'lsp2')).toBeDefined();

    const bound = await waitPortState('hv1', 'lsp1', (p) => p.state === 'Bound', 'Bound');
    expect(bound).toMatchObject({ interfaceName: 'lsp1', provider: 'dummy', reason: 'Bound' });
    expect(bound.bindLatencyMs).toBeGreaterThan(0);
    expect(bound.plugLatencyMs).toBeLessThanOrEqual(bound.bindLatencyMs ?? 0);
  });

  it('applies a new vif-plug-mtu-request to the same interface', async () => {
    await nb(
      'lsp-set-options',
      'lsp1',
      'requested-chassis=hv1',
      'vif-plug-type=dummy',
      'vif-plug-mtu-request=430',
    );
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
    await waitUntil(
      () =>
        !agent('hv1')
          .status()
          .ports.some((p) => p.logicalPort === 'lsp1'),
      { description: 'lsp1 leaves the hv1 status' },
    );
  });

  it('keeps lsp2 on hv2 until the logical port is deleted, then unplugs it', async () => {
    const lsp2 = await ifaceByName('hv2', 'lsp2');
    expect(lsp2).toBeDefined();
    await nb('lsp-del', 'lsp2');
    await waitIfaceGone('hv2', lsp2?.['_uuid']);
  });

  it('removes a stale interface carrying our marker and an unknown iface-id', async () => {
    await node('hv2').ovs.vsctl(
      'add-port',
      'br-int',
      'vif1',
      '--',
      'set',
      'Interface',
      'vif1',
      'type=internal',
      'external-ids:ovn-plug-agent=dummy',
      'external-ids:iface-id=non-existing-lsp',
    );
    const row = await ifaceByName('hv2', 'vif1');
    await waitIfaceGone('hv2', row?.['_uuid']);
  });

  it('leaves a stale interface marked only with ovn-plugged alone (marker key, DESIGN §3.2)', async () => {
    await node('hv2').ovs.vsctl(
      'add-port',
      'br-int',
      'vif2',
      '--',
      'set',
      'Interface',
      'vif2',
      'type=internal',
      'external-ids:ovn-plugged=dummy',
      'external-ids:iface-id=non-existing-lsp2',
    );
    agent('hv2').reconciler.schedule('timer');
    await new Promise((r) => setTimeout(r, 500));
    expect(await ifaceByName('hv2', 'vif2')).toBeDefined();
    await node('hv2').ovs.vsctl('del-port', 'br-int', 'vif2');
  });

  it('reports Conflict and leaves a foreign interface carrying the iface-id untouched', async () => {
    await node('hv2').ovs.vsctl(
      'add-port',
      'br-int',
      'vif3',
      '--',
      'set',
      'Interface',
      'vif3',
      'type=internal',
      'external-ids:iface-id=lsp3',
    );
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

describe('upstream "vif-plug transaction failures" (§2.3) with the agent', () => {
  it('creates each interface once while ovs-vswitchd assigns no ofport, then binds when it wakes', async () => {
    const vswitchd = node('hv1').ovs.vswitchd;
    const before = agent('hv1').reconciler.stats.transactions;
    vswitchd.pause();
    try {
      await lspAdd(sandbox.central, 'tf1', {
        switchName: 'lsw0',
        options: { 'requested-chassis': 'hv1', 'vif-plug-type': 'dummy', 'vif-plug-mtu-request': '420' },
      });
      await nb('lsp-set-addresses', 'tf1', 'f0:00:00:00:00:11 172.16.0.111');
      const plugged = await waitPortState(
        'hv1',
        'tf1',
        (p) => p.state === 'Plugged',
        'Plugged without ofport',
      );
      expect(plugged.reason).toBe('WaitingForOfport');
      // Several resync rounds pass while the interface has no ofport: no second create.
      await new Promise((r) => setTimeout(r, 2500));
      expect(await ifacesFor('hv1', 'tf1')).toHaveLength(1);
      expect(agent('hv1').reconciler.stats.transactions - before).toBe(1);
    } finally {
      vswitchd.resume();
    }
    await waitPortBindingUp(sandbox.central, 'tf1');
    await waitPortState('hv1', 'tf1', (p) => p.state === 'Bound', 'Bound');
    const text = await (await fetch(`${agent('hv1').url ?? ''}/metrics`)).text();
    expect(text).not.toMatch(/ovn_plug_ovs_transactions_total\{outcome="error"\} [1-9]/);
  });
});

describe('upstream observations (§2.6) with the agent', () => {
  const plugOptions = ['requested-chassis=hv1', 'vif-plug-type=dummy'];
  let uuid: unknown;

  beforeAll(async () => {
    await lspAdd(sandbox.central, 'e1', {
      switchName: 'lsw0',
      options: { 'requested-chassis': 'hv1', 'vif-plug-type': 'dummy', 'vif-plug-mtu-request': '420' },
    });
    await nb('lsp-set-addresses', 'e1', 'f0:00:00:00:00:21 172.16.0.121');
    uuid = (await waitIface('hv1', 'e1', () => true, 'exists'))['_uuid'];
    await waitPortState('hv1', 'e1', (p) => p.state === 'Bound', 'Bound');
  });

  it.each([[''], ['abc'], ['-5']])('E3/E4: mtu option %j clears mtu_request', async (value) => {
    await nb('lsp-set-options', 'e1', ...plugOptions, 'vif-plug-mtu-request=430');
    await waitIface('hv1', 'e1', (r) => mtuOf(r) === 430, 'mtu 430');
    await nb(
      'lsp-set-options',
      'e1',
      ...plugOptions,
      ...(value === '' ? [] : [`vif-plug-mtu-request=${value}`]),
    );
    const row = await waitIface('hv1', 'e1', (r) => mtuOf(r) === undefined, 'mtu_request cleared');
    expect(row['_uuid']).toBe(uuid);
  });

  it('E5: keeps foreign option keys and restores the maintained dummy option', async () => {
    await node('hv1').ovs.vsctl(
      'set',
      'Interface',
      'e1',
      'options:foo=bar',
      '--',
      'remove',
      'Interface',
      'e1',
      'options',
      'vif-plug-dummy-option',
    );
    const row = await waitIface(
      'hv1',
      'e1',
      (r) => asStringMap(r['options'])['vif-plug-dummy-option'] === 'value',
      'dummy option restored',
    );
    expect(asStringMap(row['options'])).toEqual({ foo: 'bar', 'vif-plug-dummy-option': 'value' });
  });

  it('E6: keeps foreign external_ids and resets the marker value', async () => {
    await node('hv1').ovs.vsctl(
      'set',
      'Interface',
      'e1',
      'external_ids:foo=bar',
      'external_ids:ovn-plug-agent=other',
    );
    const row = await waitIface(
      'hv1',
      'e1',
      (r) => asStringMap(r['external_ids'])['ovn-plug-agent'] === 'dummy',
      'marker back to dummy',
    );
    expect(asStringMap(row['external_ids'])).toMatchObject({
      foo: 'bar',
      'iface-id': 'e1',
      'ovn-installed': 'true',
    });
    expect(row['_uuid']).toBe(uuid);
  });

  it('E13: reverts a local type change to the provider type', async () => {
    await node('hv1').ovs.vsctl('set', 'Interface', 'e1', 'type=""');
    const row = await waitIface('hv1', 'e1', (r) => r['type'] === 'internal', 'type internal again');
    expect(row['_uuid']).toBe(uuid);
  });

  it('E24: recreates an interface deleted locally', async () => {
    await node('hv1').ovs.vsctl('del-port', 'br-int', 'e1');
    const row = await waitIface('hv1', 'e1', () => true, 'recreated');
    expect(row['_uuid']).not.toBe(uuid);
    uuid = row['_uuid'];
    await waitPortBindingUp(sandbox.central, 'e1');
  });

  it('E7/E8: removing vif-plug-type unplugs (withdrawal unplugs, DESIGN §3.4); re-adding plugs again', async () => {
    await nb('lsp-set-options', 'e1', 'requested-chassis=hv1');
    await waitIfaceGone('hv1', uuid);
    await nb('lsp-set-options', 'e1', ...plugOptions);
    uuid = (await waitIface('hv1', 'e1', () => true, 'plugged again'))['_uuid'];
  });

  it('E9: removing requested-chassis unplugs (withdrawal unplugs, DESIGN §3.4)', async () => {
    await nb('lsp-set-options', 'e1', 'vif-plug-type=dummy');
    await waitIfaceGone('hv1', uuid);
    await nb('lsp-set-options', 'e1', ...plugOptions);
    uuid = (await waitIface('hv1', 'e1', () => true, 'plugged again'))['_uuid'];
  });

  it('E11/E12: a non-existent chassis unplugs, back to hv1 replugs with a new interface', async () => {
    await nb('lsp-set-options', 'e1', 'requested-chassis=non-existent-chassis', 'vif-plug-type=dummy');
    await waitIfaceGone('hv1', uuid);
    await nb('lsp-set-options', 'e1', ...plugOptions);
    const row = await waitIface('hv1', 'e1', () => true, 'replugged');
    expect(row['_uuid']).not.toBe(uuid);
    uuid = row['_uuid'];
    await waitPortBindingUp(sandbox.central, 'e1');
  });

  it('E18: an additional chassis plugs too (additional chassis plugs, DESIGN §3.4); main only on hv2 unplugs hv1', async () => {
    await nb('lsp-set-options', 'e1', 'requested-chassis=hv2,hv1', 'vif-plug-type=dummy');
    await waitIface('hv2', 'e1', () => true, 'plugged on the main chassis hv2');
    const onHv1 = await waitIface('hv1', 'e1', () => true, 'kept on the additional chassis hv1');
    expect(onHv1['_uuid']).toBe(uuid);
    await nb('lsp-set-options', 'e1', 'requested-chassis=hv2', 'vif-plug-type=dummy');
    await waitIfaceGone('hv1', uuid);
    expect(await ifaceByName('hv2', 'e1')).toBeDefined();
    await nb('lsp-set-options', 'e1', ...plugOptions);
    await waitUntil(async () => (await ifaceByName('hv2', 'e1')) === undefined, {
      description: 'e1 leaves hv2',
    });
    uuid = (await waitIface('hv1', 'e1', () => true, 'back on hv1'))['_uuid'];
  });

  it('E10: requested-chassis given as the chassis hostname is resolved by northd and keeps the port here', async () => {
    await node('hv1').ovs.vsctl('set', 'Open_vSwitch', '.', 'external_ids:hostname=hv1-host');
    await waitUntil(
      async () =>
        (
          await sandbox.central.sbctl('--bare', '--columns=hostname', 'find', 'Chassis', 'name=hv1')
        ).trim() === 'hv1-host',
      {
        description: 'Chassis hv1 hostname hv1-host',
      },
    );
    await nb(
      'lsp-set-options',
      'e1',
      'requested-chassis=hv1-host',
      'vif-plug-type=dummy',
      'vif-plug-mtu-request=450',
    );
    const row = await waitIface('hv1', 'e1', (r) => mtuOf(r) === 450, 'mtu 450 applied');
    expect(row['_uuid']).toBe(uuid);
    await nb('lsp-set-options', 'e1', ...plugOptions);
    await waitIface('hv1', 'e1', (r) => mtuOf(r) === undefined, 'mtu cleared');
    await node('hv1').ovs.vsctl('set', 'Open_vSwitch', '.', 'external_ids:hostname=hv1');
  });

  it('E6b: an interface that lost its iface-id is not ours: Conflict, no failing transactions', async () => {
    await node('hv1').ovs.vsctl('remove', 'Interface', 'e1', 'external_ids', 'iface-id');
    const status = await waitPortState('hv1', 'e1', (p) => p.state === 'Conflict', 'Conflict');
    expect(status.reason).toBe('InterfaceNameTaken');
    expect(await ifacesFor('hv1', 'e1')).toHaveLength(0);
    await node('hv1').ovs.vsctl('set', 'Interface', 'e1', 'external_ids:iface-id=e1');
    await waitPortState('hv1', 'e1', (p) => p.state === 'Bound', 'Bound again');
  });

  it('E17: an unrelated interface with the provider name blocks with Conflict instead of failing transactions', async () => {
    await node('hv1').ovs.vsctl(
      'add-port',
      'br-int',
      'lsp4',
      '--',
      'set',
      'Interface',
      'lsp4',
      'type=internal',
    );
    await lspAdd(sandbox.central, 'lsp4', {
      switchName: 'lsw0',
      options: { 'requested-chassis': 'hv1', 'vif-plug-type': 'dummy' },
    });
    const status = await waitPortState('hv1', 'lsp4', (p) => p.state === 'Conflict', 'Conflict');
    expect(status.message).toContain('"lsp4"');
    const row = await ifaceByName('hv1', 'lsp4');
    expect(asStringMap(row?.['external_ids'])['iface-id']).toBeUndefined();
    const text = await (await fetch(`${agent('hv1').url ?? ''}/metrics`)).text();
    expect(text).not.toMatch(/ovn_plug_ovs_transactions_total\{outcome="error"\} [1-9]/);
  });

  it('E15: removes a stale marked interface; E15c ignores one without iface-id; E15d keeps one of an unknown provider', async () => {
    const vsctl = node('hv1').ovs.vsctl;
    await vsctl(
      'add-port',
      'br-int',
      's15',
      '--',
      'set',
      'Interface',
      's15',
      'type=internal',
      'external-ids:ovn-plug-agent=dummy',
      'external-ids:iface-id=gone15',
    );
    await vsctl(
      'add-port',
      'br-int',
      's15c',
      '--',
      'set',
      'Interface',
      's15c',
      'type=internal',
      'external-ids:ovn-plug-agent=dummy',
    );
    await vsctl(
      'add-port',
      'br-int',
      's15d',
      '--',
      'set',
      'Interface',
      's15d',
      'type=internal',
      'external-ids:ovn-plug-agent=foo',
      'external-ids:iface-id=gone15d',
    );
    await waitUntil(async () => (await ifaceByName('hv1', 's15')) === undefined, {
      description: 's15 removed',
    });
    const d = await waitPortState('hv1', 'gone15d', (p) => p.state === 'Pending', 'Pending');
    expect(d.reason).toBe('ProviderNotFound');
    expect(await ifaceByName('hv1', 's15c')).toBeDefined();
    expect(await ifaceByName('hv1', 's15d')).toBeDefined();
    await vsctl('del-port', 'br-int', 's15c', '--', 'del-port', 'br-int', 's15d');
  });

  it('E15b: a marked interface on another bridge is ignored (foreign bridges ignored, DESIGN §3.4)', async () => {
    const vsctl = node('hv1').ovs.vsctl;
    await vsctl('add-br', 'br-other', '--', 'set', 'Bridge', 'br-other', 'datapath_type=dummy');
    await vsctl(
      'add-port',
      'br-other',
      's15b',
      '--',
      'set',
      'Interface',
      's15b',
      'type=internal',
      'external-ids:ovn-plug-agent=dummy',
      'external-ids:iface-id=e1',
    );
    agent('hv1').reconciler.schedule('timer');
    await new Promise((r) => setTimeout(r, 500));
    expect(await ifaceByName('hv1', 's15b')).toBeDefined();
    expect(
      agent('hv1')
        .status()
        .ports.find((p) => p.logicalPort === 'e1')?.state,
    ).toBe('Bound');
    await vsctl('del-br', 'br-other');
  });

  it('E19: a port with iface-id-ver is plugged but stays Plugged (never claimed by ovn-controller)', async () => {
    await lspAdd(sandbox.central, 'e19', {
      switchName: 'lsw0',
      options: { 'requested-chassis': 'hv1', 'vif-plug-type': 'dummy', 'iface-id-ver': 'v1' },
    });
    const status = await waitPortState(
      'hv1',
      'e19',
      (p) => p.state === 'Plugged' && p.ofport !== undefined,
      'Plugged with ofport',
    );
    expect(status.reason).toBe('WaitingForOvnController');
    expect((await getPortBinding(sandbox.central, 'e19'))?.['up']).not.toBe(true);
  });

  it('E21/E22: an unknown provider type is Pending and a localport is ignored', async () => {
    await lspAdd(sandbox.central, 'e21', {
      switchName: 'lsw0',
      options: { 'requested-chassis': 'hv1', 'vif-plug-type': 'nosuch' },
    });
    await lspAdd(sandbox.central, 'e22', {
      switchName: 'lsw0',
      options: { 'requested-chassis': 'hv1', 'vif-plug-type': 'dummy' },
    });
    await nb('lsp-set-type', 'e22', 'localport');
    const e21 = await waitPortState('hv1', 'e21', (p) => p.state === 'Pending', 'Pending');
    expect(e21).toMatchObject({ reason: 'ProviderNotFound' });
    expect(e21.message).toContain('"nosuch"');
    expect(await ifaceByName('hv1', 'e21')).toBeUndefined();
    expect(await ifaceByName('hv1', 'e22')).toBeUndefined();
    expect(
      agent('hv1')
        .status()
        .ports.some((p) => p.logicalPort === 'e22'),
    ).toBe(false);
    const metrics = await (await fetch(`${agent('hv1').url ?? ''}/metrics`)).text();
    expect(metrics).toContain(
      'ovn_plug_provider_errors_total{provider="nosuch",reason="ProviderNotFound"} 1',
    );
    expect(metrics).toContain(
      'ovn_plug_port_info{logical_port="e21",interface="",provider="nosuch",state="Pending"} 1',
    );
  });

  it('E23: a long logical port name gets the 15-character dummy interface name and the full iface-id', async () => {
    await lspAdd(sandbox.central, 'a-very-long-logical-port-name', {
      switchName: 'lsw0',
      options: { 'requested-chassis': 'hv1', 'vif-plug-type': 'dummy' },
    });
    const row = await waitIface('hv1', 'a-very-long-log', () => true, 'truncated name');
    expect(asStringMap(row['external_ids'])['iface-id']).toBe('a-very-long-logical-port-name');
    await waitPortBindingUp(sandbox.central, 'a-very-long-logical-port-name');
  });

  it('a provider parameter change that renames the interface replugs in one transaction (parameter change replugs, DESIGN §3.4)', async () => {
    await lspAdd(sandbox.central, 'rp1', {
      switchName: 'lsw0',
      options: { 'requested-chassis': 'hv1', 'vif-plug-type': 'named', 'vif-plug:named:name': 'rp-a' },
    });
    const a = await waitIface('hv1', 'rp-a', () => true, 'rp-a plugged');
    await waitPortBindingUp(sandbox.central, 'rp1');
    await nb(
      'lsp-set-options',
      'rp1',
      'requested-chassis=hv1',
      'vif-plug-type=named',
      'vif-plug:named:name=rp-b',
    );
    const b = await waitIface('hv1', 'rp-b', () => true, 'rp-b plugged');
    await waitIfaceGone('hv1', a['_uuid']);
    expect(asStringMap(b['external_ids'])).toMatchObject({ 'iface-id': 'rp1', 'ovn-plug-agent': 'named' });
    await waitPortState(
      'hv1',
      'rp1',
      (p) => p.state === 'Bound' && p.interfaceName === 'rp-b',
      'Bound on rp-b',
    );
  });

  it('a provider that cannot answer keeps the existing interface untouched (DESIGN §3.4)', async () => {
    const before = await ifaceByName('hv1', 'rp-b');
    await nb('lsp-set-options', 'rp1', 'requested-chassis=hv1', 'vif-plug-type=named');
    const status = await waitPortState('hv1', 'rp1', (p) => p.state === 'Pending', 'Pending');
    expect(status).toMatchObject({ reason: 'NameMissing', message: 'vif-plug:named:name is not set' });
    expect(await ifaceByName('hv1', 'rp-b')).toEqual(before);
  });
});
