/**
 * Issue 8 part 2 on the real sandbox (NB, SB, ovn-northd, ovs-vswitchd dummy datapath, unmodified
 * ovn-controller) with the representor provider at DEFAULT flags; only devlink is a FAKE (no DPU
 * here, see fake-devlink-wrapper.ts). The everyday DPU case: a VM's logical port is deleted and its
 * VF handed to a new VM at once. DESIGN §3.4: a held, postponed or quarantined removal never blocks
 * a wanted port whose request arrived within the current session — it is one replug, now — while a
 * request that came back with a restored backup must not evict a live port before the grace.
 *
 * Each port sits on a node (hv1) with one port at a time, apart from the held leftovers the tests
 * create on purpose.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  parseCommandLine,
  startAgent,
  type AgentHandle,
  type AgentStatus,
  type PortStatus,
} from '../../src/agent/index.js';
import {
  asStringMap,
  getPortBinding,
  makeWorkDir,
  startSandbox,
  waitPortBindingUp,
  waitUntil,
  type CtlRow,
  type Sandbox,
} from '../harness/index.js';
import { writeFakeDevlink, type FakeDevlink } from '../fixtures/devlink/fake-devlink-wrapper.js';
import { metricSamples } from './support/metrics.js';

/** Host PF 0 of the BlueField-2 fixture. */
const PF_MAC = '08:c0:eb:c4:2a:10';

let sandbox: Sandbox;
let agent: AgentHandle;
let devlink: FakeDevlink;

beforeAll(async () => {
  sandbox = await startSandbox({ chassis: ['hv1'] });
  const devlinkDir = await makeWorkDir('devlink', sandbox.dir, 'devlink');
  devlink = await writeFakeDevlink(devlinkDir.path);
  const parsed = parseCommandLine(
    [
      `--ovs-db=${sandbox.node('hv1').ovs.dbRemote}`,
      '--providers=representor',
      `--devlink-command=${devlink.command}`,
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

/** `lsp-add` arguments (for one NB transaction) of a Neutron remote-managed port on VF `vf`. */
function portArgs(name: string, vf: number, mac: string): string[] {
  return [
    '--',
    '--may-exist',
    'ls-add',
    'net1',
    '--',
    'lsp-add',
    'net1',
    name,
    '--',
    'lsp-set-addresses',
    name,
    mac,
    '--',
    'lsp-set-options',
    name,
    'vif-plug-type=representor',
    `vif-plug:representor:pf-mac=${PF_MAC}`,
    `vif-plug:representor:vf-num=${vf}`,
    'requested-chassis=hv1',
  ];
}

async function nb(...args: string[]): Promise<void> {
  await sandbox.central.nbctl(...(args[0] === '--' ? args.slice(1) : args));
}

async function createPort(name: string, vf: number, mac: string): Promise<void> {
  await nb(...portArgs(name, vf, mac));
  await waitPortBindingUp(sandbox.central, name);
  await waitState(name, (p) => p.state === 'Bound', 'Bound');
}

function portStatus(logicalPort: string): PortStatus | undefined {
  return agent.status().ports.find((p) => p.logicalPort === logicalPort);
}

function waitState(
  logicalPort: string,
  check: (p: PortStatus) => boolean,
  description: string,
  timeoutMs = 15_000,
): Promise<PortStatus> {
  return waitUntil(
    () => {
      const port = portStatus(logicalPort);
      return port !== undefined && check(port) ? port : undefined;
    },
    { description: `${logicalPort} ${description}`, timeoutMs, maxIntervalMs: 20 },
  );
}

async function ifaceNamed(name: string): Promise<CtlRow | undefined> {
  return (await sandbox.node('hv1').ovs.interfaces()).find((row) => row['name'] === name);
}

async function ifaceIdOf(name: string): Promise<string | undefined> {
  return asStringMap((await ifaceNamed(name))?.['external_ids'])['iface-id'];
}

async function failedTransactions(): Promise<number> {
  const samples = await metricSamples(agent.url ?? '', 'ovn_plug_ovs_transactions_total');
  return samples.filter((s) => s.labels['outcome'] === 'error').reduce((n, s) => n + s.value, 0);
}

/** What explains a failure: the agent's status, the OVS rows and the SB rows of these ports. */
async function evidence(ports: readonly string[]): Promise<string> {
  const status: AgentStatus = agent.status();
  const rows = await sandbox.node('hv1').ovs.interfaces();
  const bindings = await Promise.all(ports.map((p) => getPortBinding(sandbox.central, p)));
  return JSON.stringify({ status, interfaces: rows, bindings }, null, 1).slice(0, 20_000);
}

/**
 * Deletes `from` and creates `to` on VF `vf` (the same one), in one NB transaction or two
 * `gapMs` apart; asserts the new port Bound within 2 s, no failed OVS transaction, `from` gone.
 */
async function reuseVf(from: string, to: string, vf: number, mac: string, gapMs?: number): Promise<number> {
  const failedBefore = await failedTransactions();
  const started = Date.now();
  if (gapMs === undefined) {
    await nb('lsp-del', from, ...portArgs(to, vf, mac));
  } else {
    await nb('lsp-del', from);
    await new Promise((r) => setTimeout(r, gapMs));
    await nb(...portArgs(to, vf, mac));
  }
  try {
    await waitState(to, (p) => p.state === 'Bound', 'Bound within 2 s', 2_000);
  } catch (error) {
    throw new Error(`${String(error)}\n${await evidence([from, to])}`, { cause: error });
  }
  const latencyMs = Date.now() - started;
  expect(await ifaceIdOf(`pf0vf${vf}`)).toBe(to);
  expect(portStatus(from)).toBeUndefined();
  expect(await failedTransactions()).toBe(failedBefore);
  await waitPortBindingUp(sandbox.central, to);
  return latencyMs;
}

describe('VF reuse at default flags (issue 8 part 2, DESIGN §3.4)', () => {
  it('(a) delete a VM and give its VF to a new VM in the same NB transaction: one replug, Bound within 2 s', async () => {
    await createPort('vm-a', 2, 'fa:16:3e:00:00:0a');
    await reuseVf('vm-a', 'vm-b', 2, 'fa:16:3e:00:00:0b');
  });

  it('(b) the same in two NB transactions 50 ms apart', async () => {
    await reuseVf('vm-b', 'vm-c', 2, 'fa:16:3e:00:00:0c', 50);
  });

  it('(d) after an old SB backup is restored, a port from the backup claiming a live VF does not evict it before the grace', async () => {
    const sb = sandbox.central.sb;
    if (sb === undefined) throw new Error('standalone SB expected');
    // The backup knows old-vm on VF 1; the CMS then hands VF 1 to live-vm.
    await createPort('old-vm', 1, 'fa:16:3e:00:00:01');
    const backup = await sb.backup();
    await reuseVf('old-vm', 'live-vm', 1, 'fa:16:3e:00:00:02');
    const liveIface = (await ifaceNamed('pf0vf1'))?.['_uuid'];
    const failedBefore = await failedTransactions();
    const callsBefore = await devlink.setCalls();
    // The recording works: the live VM's MAC went through it (more than once when the fake's late
    // notification of old-vm's MAC arrives after it, which the provider answers by setting again).
    expect(
      callsBefore.filter((call) => call.includes('fa:16:3e:00:00:02')).length,
      "the live VM's MAC was set through the recorded calls",
    ).toBeGreaterThan(0);
    sandbox.central.northd.pause();
    try {
      await sb.restore(backup);
      // old-vm is wanted again (from the backup), live-vm is missing: held, and old-vm waits.
      await waitState('live-vm', (p) => p.reason === 'RemovalHeld', 'removal held');
      // Blocked before the provider touches the VF (RepresentorInUse), or after a ready answer given
      // on a MAC the VF already had (InterfaceHeld); either way the live VM's VF is not reprogrammed.
      const waiting = await waitState('old-vm', (p) => p.state === 'Pending', 'waiting for the grace');
      expect(['RepresentorInUse', 'InterfaceHeld'], `${waiting.reason}: ${waiting.message}`).toContain(
        waiting.reason,
      );
      expect(waiting.message).toContain('pf0vf1');
      await new Promise((r) => setTimeout(r, 2_000));
      const newSetCalls = (await devlink.setCalls()).slice(callsBefore.length);
      expect(
        newSetCalls.filter((call) => call.includes('fa:16:3e:00:00:01')),
        "no port function set with old-vm's MAC after the restore",
      ).toEqual([]);
      expect((await ifaceNamed('pf0vf1'))?.['_uuid']).toEqual(liveIface);
      expect(await ifaceIdOf('pf0vf1')).toBe('live-vm');
      expect(await failedTransactions()).toBe(failedBefore);
    } finally {
      sandbox.central.northd.resume();
    }
    // ovn-northd puts the SB back in line with the NB: live-vm kept, same interface, no churn.
    await sandbox.central.nbctlWaitSb('sync');
    await waitState('live-vm', (p) => p.state === 'Bound', 'Bound again', 20_000);
    await waitUntil(() => portStatus('old-vm') === undefined, { description: 'old-vm gone from status' });
    expect((await ifaceNamed('pf0vf1'))?.['_uuid']).toEqual(liveIface);
  });

  it('(c) while a hold from a resync is in force, VF reuse is still one replug within 2 s, and the held VF is taken over by a new request', async () => {
    const sb = sandbox.central.sb;
    if (sb === undefined) throw new Error('standalone SB expected');
    // A leftover held by a resync: ghost on VF 3 is deleted from the NB while ovn-northd is paused,
    // and the SB restarts on a DB file that never knew it (a file-level restore keeps row UUIDs).
    const backup = await sb.backup();
    await createPort('ghost', 3, 'fa:16:3e:00:00:03');
    sandbox.central.northd.pause();
    try {
      await nb('lsp-del', 'ghost');
      await sb.process.stop();
      await sb.restoreFile(backup);
      await sb.process.start();
      await waitState('ghost', (p) => p.reason === 'RemovalHeld', 'removal held by the resync');
    } finally {
      sandbox.central.northd.resume();
    }
    await sandbox.central.nbctlWaitSb('sync');
    expect(portStatus('ghost')?.reason).toBe('RemovalHeld');
    expect(agent.status().heldRemovals?.count).toBe(1);
    // vm-c (from (b)) is on VF 2: give it to vm-d while ghost's hold is in force.
    await reuseVf('vm-c', 'vm-d', 2, 'fa:16:3e:00:00:0d');
    expect(portStatus('ghost')?.reason).toBe('RemovalHeld');
    expect(await ifaceIdOf('pf0vf3')).toBe('ghost');
    // A new VM asking for the held leftover's VF within the session takes it over now: one replug.
    const failedBefore = await failedTransactions();
    const ghostIface = (await ifaceNamed('pf0vf3'))?.['_uuid'];
    await nb(...portArgs('vm-e', 3, 'fa:16:3e:00:00:0e'));
    try {
      await waitState('vm-e', (p) => p.state === 'Bound', 'Bound within 2 s', 2_000);
    } catch (error) {
      throw new Error(`${String(error)}\n${await evidence(['ghost', 'vm-e'])}`, { cause: error });
    }
    expect(await ifaceIdOf('pf0vf3')).toBe('vm-e');
    expect((await ifaceNamed('pf0vf3'))?.['_uuid']).not.toEqual(ghostIface);
    expect(portStatus('ghost')).toBeUndefined();
    expect(agent.status().heldRemovals).toBeUndefined();
    expect(await failedTransactions()).toBe(failedBefore);
  });
});
