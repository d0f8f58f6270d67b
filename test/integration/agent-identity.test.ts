/**
 * The agent follows the node's identity live (DESIGN §3.5a), against a real sandbox and without
 * restarting the agent: a new `system-id` (re-provisioned DPU: the operator deletes the old Chassis
 * and restarts ovn-controller), a new `ovn-remote` (the node moved to another Southbound DB) and a
 * new `ovn-bridge`. The agent gets no --chassis/--ovnsb-db/--integration-bridge flag: it takes all
 * three from `Open_vSwitch external_ids`, as ovn-controller does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommandLine, startAgent, type AgentHandle, type PortStatus } from '../../src/agent/index.js';
import {
  asStringMap,
  delay,
  getPortBinding,
  interfacesForLogicalPort,
  lspAdd,
  portBindingChassisName,
  startOvnCentral,
  startOvnController,
  startSandbox,
  waitPortBindingUp,
  waitUntil,
  type CtlRow,
  type OvnCentral,
  type OvnController,
  type Sandbox,
  type SandboxNode,
} from '../harness/index.js';

const DUMMY = { 'vif-plug-type': 'dummy' };

async function startAgentOn(node: SandboxNode, flags: string[] = []): Promise<AgentHandle> {
  const parsed = parseCommandLine(
    [
      `--ovs-db=${node.ovs.dbRemote}`,
      '--providers=dummy',
      '--listen=127.0.0.1:0',
      '--log-level=silent',
      '--resync-interval=2s',
      ...flags,
    ],
    {},
  );
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return startAgent(parsed.config, { backoff: { minMs: 200, maxMs: 500 } });
}

function portState(agent: AgentHandle, logicalPort: string): PortStatus | undefined {
  return agent.status().ports.find((p) => p.logicalPort === logicalPort);
}

/** What the agent, OVS and the SB say about `ports`, for the log of a failing wait. */
async function dump(agent: AgentHandle, node: SandboxNode, central: OvnCentral, ports: string[]) {
  const status = agent.status();
  const rows: Record<string, unknown> = {};
  for (const port of ports) {
    rows[port] = {
      agent: portState(agent, port),
      ovs: await interfacesForLogicalPort(node.ovs, port),
      sb: await getPortBinding(central, port).catch((e: unknown) => String(e)),
    };
  }
  return JSON.stringify({ header: { ...status, ports: undefined }, rows }, null, 1);
}

async function waitOrDump<T>(
  what: () => Promise<T>,
  agent: AgentHandle,
  node: SandboxNode,
  central: OvnCentral,
  ports: string[],
): Promise<T> {
  try {
    return await what();
  } catch (error) {
    console.error(`state at failure:\n${await dump(agent, node, central, ports)}`);
    throw error;
  }
}

function waitBound(agent: AgentHandle, logicalPort: string, timeoutMs = 20_000): Promise<PortStatus> {
  return waitUntil(
    () => {
      const p = portState(agent, logicalPort);
      return p?.state === 'Bound' ? p : undefined;
    },
    { description: `${logicalPort} Bound`, timeoutMs, maxIntervalMs: 100 },
  );
}

async function onlyInterface(node: SandboxNode, logicalPort: string): Promise<CtlRow> {
  const rows = await interfacesForLogicalPort(node.ovs, logicalPort);
  expect(rows, `interfaces of ${logicalPort}`).toHaveLength(1);
  return rows[0] as CtlRow;
}

async function bridgeOfPort(node: SandboxNode, port: string): Promise<string> {
  return (await node.ovs.vsctl('port-to-br', port)).trim();
}

describe('a new system-id (re-provisioned DPU) is followed live', () => {
  let sandbox: Sandbox;
  let agent: AgentHandle | undefined;
  let controller: OvnController | undefined;
  beforeAll(async () => {
    sandbox = await startSandbox({ chassis: ['hv1'] });
  }, 60_000);
  afterAll(async () => {
    await agent?.stop();
    await controller?.stop();
    await sandbox?.stop();
  });

  it('new Chassis row, new condition, ports requested on the new name plugged and bound; nothing removed meanwhile', async () => {
    const node = sandbox.node('hv1');
    const central = sandbox.central;
    agent = await startAgentOn(node);
    const a = agent;
    const ports = ['id0', 'id1', 'id2'];
    await lspAdd(central, 'id0', { options: { 'requested-chassis': 'hv1', ...DUMMY } });
    await lspAdd(central, 'id1', { options: { 'requested-chassis': 'hv1', ...DUMMY } });
    await waitOrDump(() => waitBound(a, 'id1'), a, node, central, ports);
    await waitOrDump(() => waitBound(a, 'id0'), a, node, central, ports);
    const before = await onlyInterface(node, 'id1');
    const id0 = await onlyInterface(node, 'id0');

    // The operator re-provisions the DPU: new system-id, old Chassis deleted, ovn-controller
    // restarted with the new identity. The CMS then requests the ports on the new name.
    await node.ovs.vsctl('--no-wait', 'set', 'Open_vSwitch', '.', 'external_ids:system-id=hv1-new');
    await waitUntil(() => a.status().chassis === 'hv1-new' || undefined, {
      description: 'agent status chassis hv1-new',
      timeoutMs: 5_000,
    });
    await node.controller?.stop();
    await central.sbctl('chassis-del', 'hv1');
    await central.nbctlWaitSb('lsp-set-options', 'id1', 'requested-chassis=hv1-new', 'vif-plug-type=dummy');
    await lspAdd(central, 'id2', { options: { 'requested-chassis': 'hv1-new', ...DUMMY } });

    // No Chassis row named hv1-new yet: the agent cannot know what it is asked for, so it keeps
    // everything as it is, and says the Southbound view is not usable.
    await delay(1_500);
    expect((await onlyInterface(node, 'id1'))['_uuid']).toBe(before['_uuid']);
    expect(await interfacesForLogicalPort(node.ovs, 'id2')).toEqual([]);
    expect(a.status().sb.synced).toBe(false);

    controller = await startOvnController({ ovs: node.ovs, central, chassis: 'hv1-new' });
    await waitOrDump(
      async () => {
        await waitBound(a, 'id2');
        await waitBound(a, 'id1');
        await waitPortBindingUp(central, 'id2');
        await waitPortBindingUp(central, 'id1');
      },
      a,
      node,
      central,
      ports,
    );
    expect(await portBindingChassisName(central, 'id1')).toBe('hv1-new');
    expect(await portBindingChassisName(central, 'id2')).toBe('hv1-new');
    // Same Interface row all along: followed, not unplugged and replugged.
    expect((await onlyInterface(node, 'id1'))['_uuid']).toBe(before['_uuid']);
    expect(await bridgeOfPort(node, (await onlyInterface(node, 'id2'))['name'] as string)).toBe('br-int');
    expect(a.status()).toMatchObject({ chassis: 'hv1-new', sb: { synced: true, state: 'monitoring' } });
    // id0 stayed requested on the old name only: after an identity change its absence is not a
    // CMS decision, so its removal is held for the grace period (DESIGN §3.4 case 3, then case 2).
    expect((await onlyInterface(node, 'id0'))['_uuid']).toBe(id0['_uuid']);
    expect(a.status().heldRemovals?.count).toBe(1);
    expect(portState(a, 'id0')?.reason).toBe('RemovalHeld');
  });

  it('a system-id that disappears is reported and the current identity kept: nothing unplugged', async () => {
    const node = sandbox.node('hv1');
    const a = agent;
    if (a === undefined) throw new Error('no agent from the previous test');
    const before = [await onlyInterface(node, 'id1'), await onlyInterface(node, 'id2')].map(
      (r) => r['_uuid'],
    );
    await node.ovs.vsctl('--no-wait', 'remove', 'Open_vSwitch', '.', 'external_ids', 'system-id');
    await delay(1_500);
    expect(a.status()).toMatchObject({ chassis: 'hv1-new', sb: { synced: true } });
    const after = [await onlyInterface(node, 'id1'), await onlyInterface(node, 'id2')].map((r) => r['_uuid']);
    expect(after).toEqual(before);
    await node.ovs.vsctl('--no-wait', 'set', 'Open_vSwitch', '.', 'external_ids:system-id=hv1-new');
  });
});

describe('a new ovn-remote (node moved to another Southbound DB) is followed live', () => {
  let sandbox: Sandbox;
  let other: OvnCentral;
  let agent: AgentHandle | undefined;
  beforeAll(async () => {
    [sandbox, other] = await Promise.all([startSandbox({ chassis: ['hv1'] }), startOvnCentral()]);
  }, 60_000);
  afterAll(async () => {
    await agent?.stop();
    await sandbox?.stop();
    await other?.stop();
  });

  it('the SB client switches remotes, /status shows it, and ports requested there are plugged and bound', async () => {
    const node = sandbox.node('hv1');
    agent = await startAgentOn(node);
    const a = agent;
    await lspAdd(sandbox.central, 'rm1', { options: { 'requested-chassis': 'hv1', ...DUMMY } });
    await waitOrDump(() => waitBound(a, 'rm1'), a, node, sandbox.central, ['rm1']);
    const rm1 = await onlyInterface(node, 'rm1');
    expect(a.status().sb.remote).toBe(sandbox.central.sbRemote);

    await lspAdd(other, 'rm2', { options: { 'requested-chassis': 'hv1', ...DUMMY } });
    // The operator points the node (ovn-controller and the agent alike) at the other SB.
    await node.ovs.vsctl(
      '--no-wait',
      'set',
      'Open_vSwitch',
      '.',
      `external_ids:ovn-remote="${other.sbRemote}"`,
    );
    await waitOrDump(
      async () => {
        await waitUntil(
          async () => {
            const body = (await (await fetch(`${a.url ?? ''}/status`)).json()) as {
              sb: { remote?: string; synced: boolean };
            };
            return (body.sb.remote === other.sbRemote && body.sb.synced) || undefined;
          },
          { description: '/status sb.remote is the other SB, synced', timeoutMs: 10_000 },
        );
        await waitBound(a, 'rm2');
        await waitPortBindingUp(other, 'rm2');
      },
      a,
      node,
      other,
      ['rm1', 'rm2'],
    );
    expect(await portBindingChassisName(other, 'rm2')).toBe('hv1');
    // rm1 does not exist in the new SB: a changed database is never a reason to unplug at once
    // (DESIGN §3.4 case 2, held for the grace period).
    expect((await onlyInterface(node, 'rm1'))['_uuid']).toBe(rm1['_uuid']);
  });
});

describe('a new ovn-bridge is followed live', () => {
  let sandbox: Sandbox;
  let agent: AgentHandle | undefined;
  beforeAll(async () => {
    sandbox = await startSandbox({ chassis: ['hv1'] });
  }, 60_000);
  afterAll(async () => {
    await agent?.stop();
    await sandbox?.stop();
  });

  it('owned ports move to the new bridge (same rows) and new ports are plugged there', async () => {
    const node = sandbox.node('hv1');
    const central = sandbox.central;
    agent = await startAgentOn(node);
    const a = agent;
    await lspAdd(central, 'br1', { options: { 'requested-chassis': 'hv1', ...DUMMY } });
    await waitOrDump(() => waitBound(a, 'br1'), a, node, central, ['br1']);
    const br1 = await onlyInterface(node, 'br1');
    expect(await bridgeOfPort(node, 'br1')).toBe('br-int');

    // The operator creates the new integration bridge and points the node at it.
    await node.ovs.vsctl('add-br', 'br-alt', '--', 'set', 'Bridge', 'br-alt', 'fail-mode=secure');
    await node.ovs.vsctl('set', 'Open_vSwitch', '.', 'external_ids:ovn-bridge=br-alt');
    await waitOrDump(
      () =>
        waitUntil(async () => (await bridgeOfPort(node, 'br1')) === 'br-alt' || undefined, {
          description: 'br1 on br-alt',
          timeoutMs: 10_000,
        }),
      a,
      node,
      central,
      ['br1'],
    );
    expect((await onlyInterface(node, 'br1'))['_uuid']).toBe(br1['_uuid']);
    expect(a.status().integrationBridge).toBe('br-alt');

    await lspAdd(central, 'br2', { options: { 'requested-chassis': 'hv1', ...DUMMY } });
    await waitOrDump(
      async () => {
        await waitBound(a, 'br2');
        await waitBound(a, 'br1');
        await waitPortBindingUp(central, 'br2');
      },
      a,
      node,
      central,
      ['br1', 'br2'],
    );
    expect(await bridgeOfPort(node, 'br2')).toBe('br-alt');
    expect((await onlyInterface(node, 'br1'))['_uuid']).toBe(br1['_uuid']);
    expect(asStringMap((await onlyInterface(node, 'br2'))['external_ids'])['ovn-plug-agent']).toBe('dummy');
  });
});

describe('settings given as flags are not followed', () => {
  let sandbox: Sandbox;
  let agent: AgentHandle | undefined;
  beforeAll(async () => {
    sandbox = await startSandbox({ chassis: ['hv1'] });
  }, 60_000);
  afterAll(async () => {
    await agent?.stop();
    await sandbox?.stop();
  });

  it('--chassis, --ovnsb-db and --integration-bridge win over later external_ids changes', async () => {
    const node = sandbox.node('hv1');
    const central = sandbox.central;
    agent = await startAgentOn(node, [
      '--chassis=hv1',
      `--ovnsb-db=${central.sbRemote}`,
      '--integration-bridge=br-int',
    ]);
    const a = agent;
    await lspAdd(central, 'fl1', { options: { 'requested-chassis': 'hv1', ...DUMMY } });
    await waitOrDump(() => waitBound(a, 'fl1'), a, node, central, ['fl1']);
    const fl1 = await onlyInterface(node, 'fl1');
    // ovn-controller is stopped first so that only the agent could react to the new values.
    await node.controller?.stop();
    await node.ovs.vsctl('add-br', 'br-other');
    await node.ovs.vsctl(
      'set',
      'Open_vSwitch',
      '.',
      'external_ids:system-id=elsewhere',
      'external_ids:ovn-bridge=br-other',
      'external_ids:ovn-remote="tcp:127.0.0.1:1"',
    );
    await delay(1_500);
    expect(a.status()).toMatchObject({
      chassis: 'hv1',
      integrationBridge: 'br-int',
      sb: { remote: central.sbRemote, state: 'monitoring', synced: true },
    });
    expect(portState(a, 'fl1')?.state).toBe('Bound');
    expect((await onlyInterface(node, 'fl1'))['_uuid']).toBe(fl1['_uuid']);
    expect(await bridgeOfPort(node, 'fl1')).toBe('br-int');
  });
});
