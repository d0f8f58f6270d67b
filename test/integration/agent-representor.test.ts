/**
 * Issue 4, end to end: the agent with the representor provider against a real OVN sandbox (NB, SB,
 * ovn-northd, ovs-vswitchd --enable-dummy=override, UNMODIFIED ovn-controller). Only devlink is a
 * fake (no DPU here): `test/fixtures/devlink/fake-devlink.js`, run as a real child process, serves
 * the BlueField-2 fixture as `devlink -j port show` and streams the lines the test appends to its
 * events file as `devlink -j monitor port`.
 *
 * The logical ports carry exactly the options Neutron's ML2/OVN driver writes for a
 * `remote-managed` port (reference/dpu-peers.md §2), plus the `addresses` Neutron always sets.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  parseCommandLine,
  runCli,
  startAgent,
  type AgentHandle,
  type AgentStatus,
  type PortStatus,
  type ProviderInventoryReport,
} from '../../src/agent/index.js';
import {
  asStringMap,
  getPortBinding,
  makeWorkDir,
  optionalValue,
  startSandbox,
  waitPortBindingUp,
  waitUntil,
  type CtlRow,
  type Sandbox,
} from '../harness/index.js';
import {
  DEVLINK_FIXTURES,
  writeFakeDevlink,
  type FakeDevlink,
} from '../fixtures/devlink/fake-devlink-wrapper.js';

/** Host PF 0 of the BlueField-2 fixture (`pf0hpf`, controller 1) and its devlink device. */
const PF_MAC = '08:c0:eb:c4:2a:10';
const DEVICE = 'pci/0000:03:00.0';
const VF1_HANDLE = `${DEVICE}/196609`;
/** VF 4 exists only after the hot-plug events of `bluefield2-vf-hotplug.events.ndjson`. */
const VF4_HANDLE = `${DEVICE}/196612`;
const NETWORK_MTU = '1442';

/** What Neutron's `_get_port_options` writes for a remote-managed port bound to `chassis`. */
function neutronRemoteManagedOptions(chassis: string, vfNum: number): Record<string, string> {
  return {
    'vif-plug-type': 'representor',
    'vif-plug-mtu-request': NETWORK_MTU,
    'vif-plug:representor:pf-mac': PF_MAC,
    'vif-plug:representor:vf-num': String(vfNum),
    'requested-chassis': chassis,
  };
}

let sandbox: Sandbox;
let agent: AgentHandle;
let eventsFile: string;
let fakeDevlink: FakeDevlink;
/** Every state change of every port, from the agent's status stream, to explain timings. */
const transitions: { atMs: number; logicalPort: string; state: string; reason: string }[] = [];

function recordTransitions(status: AgentStatus): void {
  for (const port of status.ports) {
    const last = transitions.findLast((t) => t.logicalPort === port.logicalPort);
    if (last?.state === port.state && last.reason === port.reason) continue;
    transitions.push({
      atMs: Date.now(),
      logicalPort: port.logicalPort,
      state: port.state,
      reason: port.reason,
    });
  }
}

function timelineSince(startMs: number, logicalPort: string): string {
  return transitions
    .filter((t) => t.logicalPort === logicalPort && t.atMs >= startMs)
    .map((t) => `+${t.atMs - startMs} ms ${t.state}/${t.reason}`)
    .join(', ');
}

/** Feeds kernel events to the running `devlink -j monitor port` (one JSON object per line). */
async function emitDevlinkEvents(events: readonly unknown[]): Promise<void> {
  await fakeDevlink.emit(events);
}

/** Waits until the fake devlink has set `mac` on the function of `handle` (its monitor event is out). */
function waitMacProgrammed(handle: string, mac: string): Promise<true> {
  return waitUntil(
    async () => {
      const lines = (await readFile(eventsFile, 'utf8')).split('\n').filter((line) => line !== '');
      return lines.some((line) => {
        const event = JSON.parse(line) as {
          command?: string;
          port?: Record<string, { function?: { hw_addr?: string } }>;
        };
        return event.command === 'new' && event.port?.[handle]?.function?.hw_addr === mac;
      });
    },
    { description: `devlink port ${handle} function hw_addr ${mac}`, timeoutMs: 10_000 },
  );
}

beforeAll(async () => {
  sandbox = await startSandbox({ chassis: ['hv1'] });
  const devlinkDir = await makeWorkDir('devlink', sandbox.dir, 'devlink');
  fakeDevlink = await writeFakeDevlink(devlinkDir.path);
  eventsFile = fakeDevlink.eventsFile;
  const devlink = fakeDevlink.command;
  const parsed = parseCommandLine(
    [
      `--ovs-db=${sandbox.node('hv1').ovs.dbRemote}`,
      '--providers=representor',
      `--devlink-command=${devlink}`,
      '--listen=127.0.0.1:0',
      '--log-level=silent',
    ],
    {},
  );
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  agent = await startAgent(parsed.config, { onStatus: recordTransitions });
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  await sandbox?.stop();
});

/** Creates the logical port in one NB transaction, as Neutron does, and waits for its Port_Binding. */
async function createNeutronPort(name: string, mac: string, ip: string, vfNum: number): Promise<void> {
  const options = Object.entries(neutronRemoteManagedOptions('hv1', vfNum)).map(([k, v]) => `${k}=${v}`);
  await sandbox.central.nbctlWaitSb(
    '--may-exist',
    'ls-add',
    'neutron-net',
    '--',
    'lsp-add',
    'neutron-net',
    name,
    '--',
    'lsp-set-addresses',
    name,
    `${mac} ${ip}`,
    '--',
    'lsp-set-options',
    name,
    ...options,
  );
}

async function ifaceByName(name: string): Promise<CtlRow | undefined> {
  return (await sandbox.node('hv1').ovs.interfaces()).find((row) => row['name'] === name);
}

function portStatus(logicalPort: string): PortStatus | undefined {
  return agent.status().ports.find((p) => p.logicalPort === logicalPort);
}

function waitPortState(
  logicalPort: string,
  check: (p: PortStatus) => boolean,
  description: string,
): Promise<PortStatus> {
  return waitUntil(
    () => {
      const port = portStatus(logicalPort);
      return port !== undefined && check(port) ? port : undefined;
    },
    { description: `status of ${logicalPort}: ${description}`, timeoutMs: 10_000, maxIntervalMs: 20 },
  );
}

async function httpJson<T>(path: string): Promise<T> {
  const res = await fetch(`${agent.url ?? ''}${path}`);
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

async function providersCli(): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await runCli(['providers', `--listen=${new URL(agent.url ?? '').host}`], {
    stdout: (text) => stdout.push(text),
    stderr: (text) => stderr.push(text),
  });
  return { code, stdout: stdout.join(''), stderr: stderr.join('') };
}

describe('representor provider end to end (issue 4)', () => {
  let vm1IfaceUuid: unknown;

  it('plugs a Neutron remote-managed port under the VF representor name, and ovn-controller binds it', async () => {
    await createNeutronPort('vm1-port', 'fa:16:3e:00:00:01', '10.0.0.5', 1);
    await waitPortBindingUp(sandbox.central, 'vm1-port');

    const iface = await ifaceByName('pf0vf1');
    expect(iface).toBeDefined();
    vm1IfaceUuid = iface?.['_uuid'];
    expect(iface?.['type']).toBe('');
    expect(optionalValue(iface?.['mtu_request'])).toBe(Number(NETWORK_MTU));
    expect(asStringMap(iface?.['external_ids'])).toMatchObject({
      'iface-id': 'vm1-port',
      'ovn-plug-agent': 'representor',
    });
    expect(await ifaceByName('vm1-port')).toBeUndefined();

    const binding = await getPortBinding(sandbox.central, 'vm1-port');
    expect(optionalValue(binding?.['up'])).toBe(true);
    const bound = await waitPortState('vm1-port', (p) => p.state === 'Bound', 'Bound');
    expect(bound).toMatchObject({ provider: 'representor', interfaceName: 'pf0vf1', reason: 'Bound' });
    // The LSP MAC was programmed on the host VF before plugging (DESIGN §3.7).
    await waitMacProgrammed(VF1_HANDLE, 'fa:16:3e:00:00:01');
  });

  it('keeps a port whose VF does not exist yet Pending, naming the VF and the known VFs, and plugs it within 1 s of the VF appearing', async () => {
    await createNeutronPort('vm2-port', 'fa:16:3e:00:00:02', '10.0.0.6', 4);
    await waitPortState('vm2-port', (p) => p.state === 'Pending', 'Pending');

    const status = await httpJson<AgentStatus>('/status');
    const pending = status.ports.find((p) => p.logicalPort === 'vm2-port');
    expect(pending).toMatchObject({ state: 'Pending', reason: 'VfNotFound', provider: 'representor' });
    expect(pending?.message).toContain('VF 4 not found under PF');
    expect(pending?.message).toContain(PF_MAC);
    expect(pending?.message).toContain('VFs 0–3 known');
    expect(pending?.interfaceName).toBeUndefined();
    expect(await ifaceByName('pf0vf4')).toBeUndefined();

    // VF 4 is created on the host: the kernel registers it as eth7, udev renames it pf0vf4.
    const hotplug = (await readFile(join(DEVLINK_FIXTURES, 'bluefield2-vf-hotplug.events.ndjson'), 'utf8'))
      .split('\n')
      .filter((line) => line !== '')
      .map((line): unknown => JSON.parse(line));
    const appeared = Date.now();
    await emitDevlinkEvents(hotplug.slice(0, 2));
    const plugged = await waitUntil(
      async () => {
        const row = await ifaceByName('pf0vf4');
        return row !== undefined && asStringMap(row['external_ids'])['iface-id'] === 'vm2-port'
          ? row
          : undefined;
      },
      { description: 'interface pf0vf4 for vm2-port', timeoutMs: 5_000, maxIntervalMs: 10 },
    );
    const plugMs = Date.now() - appeared;
    await waitPortBindingUp(sandbox.central, 'vm2-port');
    const boundMs = Date.now() - appeared;
    console.log(
      `VF 4 appeared via devlink monitor -> interface pf0vf4 plugged after ${plugMs} ms, Port_Binding.up after ${boundMs} ms ` +
        `(vm2-port: ${timelineSince(appeared, 'vm2-port')})`,
    );
    expect(plugMs).toBeLessThan(1000);
    expect(optionalValue(plugged['mtu_request'])).toBe(Number(NETWORK_MTU));
    expect(await ifaceByName('eth7')).toBeUndefined();
    await waitMacProgrammed(VF4_HANDLE, 'fa:16:3e:00:00:02');
  });

  it('lists the PF with its VFs and the logical port using each, on /providers and in `ovn-plug-agent providers`', async () => {
    const reports = await httpJson<ProviderInventoryReport[]>('/providers');
    const representor = reports.find((r) => r.type === 'representor');
    expect(representor?.available).toBe(true);
    const items = representor?.items ?? [];
    const pf = items.find((item) => item.name === 'pf0hpf');
    expect(pf?.details).toMatchObject({ flavour: 'pcipf', pfMac: PF_MAC, controller: 1, pfNum: 0 });
    const vfs = items.filter(
      (item) => item.details['flavour'] === 'pcivf' && item.details['pfMac'] === PF_MAC,
    );
    expect(vfs.map((vf) => [vf.details['vfNum'], vf.name, vf.logicalPort])).toEqual([
      [0, 'pf0vf0', undefined],
      [1, 'pf0vf1', 'vm1-port'],
      [2, 'pf0vf2', undefined],
      [3, 'pf0vf3', undefined],
      [4, 'pf0vf4', 'vm2-port'],
    ]);
    expect(vfs.every((vf) => pf !== undefined && vf.id.startsWith(pf.id))).toBe(true);
    expect(vfs.map((vf) => vf.details['hwAddr'])).toEqual([
      undefined,
      'fa:16:3e:00:00:01',
      undefined,
      undefined,
      'fa:16:3e:00:00:02',
    ]);

    const cli = await providersCli();
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    const lines = cli.stdout.split('\n');
    expect(lines[0]).toBe('representor: available');
    const row = (name: string): string | undefined => lines.find((line) => line.split(/\s+/).includes(name));
    expect(row('pf0hpf')).toContain(`pfMac=${PF_MAC}`);
    expect(row('pf0vf1')?.split(/\s+/)).toContain('vm1-port');
    expect(row('pf0vf4')?.split(/\s+/)).toContain('vm2-port');
    expect(row('pf0vf0')?.split(/\s+/)).not.toContain('vm1-port');
  });

  it('turns the port Pending with a reason when its representor is removed, and keeps its interface (DESIGN §3.4)', async () => {
    const before = await ifaceByName('pf0vf1');
    expect(before?.['_uuid']).toBe(vm1IfaceUuid);
    const vf1 = JSON.parse(
      await readFile(join(DEVLINK_FIXTURES, 'bluefield2-dpu.port-show.json'), 'utf8'),
    ) as {
      port: Record<string, Record<string, unknown>>;
    };
    const entry = vf1.port[VF1_HANDLE];
    expect(entry).toBeDefined();
    // As the kernel does when a VF goes: its netdev unregisters (type notset), then the port is deleted.
    const { netdev: _netdev, ...withoutNetdev } = entry ?? {};
    const gone = { ...withoutNetdev, type: 'notset' };
    await emitDevlinkEvents([
      { command: 'new', port: { [VF1_HANDLE]: gone } },
      { command: 'del', port: { [VF1_HANDLE]: gone } },
    ]);

    const pending = await waitPortState(
      'vm1-port',
      (p) => p.state === 'Pending' && p.reason === 'VfNotFound',
      'Pending (VfNotFound)',
    );
    expect(pending.message).toContain('VF 1 not found under PF');
    expect(pending.message).toMatch(/VFs 0, 2–4 known/);
    console.log(
      `vm1-port after its representor was removed: ${pending.state} ${pending.reason}: ${pending.message}`,
    );

    // Let the reconciler run another full round with the provider still answering not-now.
    const rounds = agent.reconciler.stats.rounds;
    agent.reconciler.schedule('timer');
    await waitUntil(() => agent.reconciler.stats.rounds > rounds, {
      description: 'one more reconcile round',
      maxIntervalMs: 20,
    });
    expect(portStatus('vm1-port')?.state).toBe('Pending');

    const after = await ifaceByName('pf0vf1');
    expect(after?.['_uuid']).toBe(vm1IfaceUuid);
    expect(asStringMap(after?.['external_ids'])).toMatchObject({
      'iface-id': 'vm1-port',
      'ovn-plug-agent': 'representor',
    });
    expect(optionalValue(after?.['mtu_request'])).toBe(Number(NETWORK_MTU));
    expect(optionalValue((await getPortBinding(sandbox.central, 'vm1-port'))?.['up'])).toBe(true);

    // The inventory no longer offers VF 1, and vm2-port on VF 4 is untouched.
    const representor = (await httpJson<ProviderInventoryReport[]>('/providers')).find(
      (r) => r.type === 'representor',
    );
    expect(representor?.items?.some((item) => item.name === 'pf0vf1')).toBe(false);
    expect(portStatus('vm2-port')).toMatchObject({ state: 'Bound', interfaceName: 'pf0vf4' });
  });
});
