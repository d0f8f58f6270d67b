/**
 * Issue 9 part 1, end to end: the representor provider on a userspace (`netdev`) integration
 * bridge, against a real OVN sandbox (NB, SB, ovn-northd, ovs-vswitchd --enable-dummy=override,
 * UNMODIFIED ovn-controller). The datapath type is switched the way NVIDIA DPF does it, through
 * `Open_vSwitch external_ids:ovn-bridge-datapath-type`, which the real ovn-controller applies to
 * br-int. Only devlink is a FAKE (`test/fixtures/devlink/fake-devlink.js` serving the hand-written
 * BlueField-2 fixture).
 *
 * Debian's ovs-vswitchd is built without DPDK, so a `type=dpdk` Interface cannot open: it gets an
 * `error` and ofport -1. The test asserts the rows the agent wrote (the part a DPDK build would
 * act on), that ovs-vswitchd's error reaches the port's status verbatim as `Failed`, and that
 * switching the bridge back to the kernel-style datapath replugs the port into a working one.
 */
import { writeFile, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommandLine, startAgent, type AgentHandle, type PortStatus } from '../../src/agent/index.js';
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

const FIXTURES = fileURLToPath(new URL('../fixtures/devlink/', import.meta.url));
const FAKE_DEVLINK = join(FIXTURES, 'fake-devlink.js');
/** Host PF 0 of the BlueField-2 fixture (`pf0hpf`, controller 1, on pci/0000:03:00.0). */
const PF_MAC = '08:c0:eb:c4:2a:10';
const MTU = '1442';
/** VF 1 of controller 1, PF 0, in DPDK's grammar: only the VF is attached, not the host PF. */
const VF1_DEVARGS = '0000:03:00.0,representor=c1(pf0)vf1';

let sandbox: Sandbox;
let agent: AgentHandle;

/** A wrapper that points the fake devlink at its files (the agent spawns it with its own env). */
async function writeFakeDevlinkWrapper(dir: string): Promise<string> {
  const portsFile = join(dir, 'ports.json');
  const eventsFile = join(dir, 'events.ndjson');
  await copyFile(join(FIXTURES, 'bluefield2-dpu.port-show.json'), portsFile);
  await writeFile(eventsFile, '');
  const quote = (text: string): string => `'${text.replaceAll("'", "'\\''")}'`;
  const wrapper = join(dir, 'fake-devlink-dpdk.sh');
  await writeFile(
    wrapper,
    [
      '#!/bin/sh',
      `export FAKE_DEVLINK_PORTS=${quote(portsFile)}`,
      `export FAKE_DEVLINK_EVENTS=${quote(eventsFile)}`,
      `exec ${quote(process.execPath)} ${quote(FAKE_DEVLINK)} "$@"`,
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  return wrapper;
}

const ovs = (): Sandbox['nodes'][number]['ovs'] => sandbox.node('hv1').ovs;

async function ifaceByName(name: string): Promise<CtlRow | undefined> {
  return (await ovs().interfaces()).find((row) => row['name'] === name);
}

/** Switches br-int's datapath through ovn-controller, as DPF configures OVS-DOCA nodes. */
async function setBridgeDatapath(datapathType: string): Promise<void> {
  await ovs().vsctl('set', 'Open_vSwitch', '.', `external_ids:ovn-bridge-datapath-type=${datapathType}`);
  await waitUntil(
    async () => (await ovs().vsctl('get', 'Bridge', 'br-int', 'datapath_type')).trim() === datapathType,
    { description: `ovn-controller sets br-int datapath_type=${datapathType}`, timeoutMs: 10_000 },
  );
}

function waitIface(name: string, check: (row: CtlRow) => boolean, description: string): Promise<CtlRow> {
  return waitUntil(
    async () => {
      const row = await ifaceByName(name);
      return row !== undefined && check(row) ? row : undefined;
    },
    { description: `interface ${name}: ${description}`, timeoutMs: 10_000, maxIntervalMs: 50 },
  );
}

function waitPortState(logicalPort: string, check: (p: PortStatus) => boolean, description: string) {
  return waitUntil(
    () => {
      const port = agent.status().ports.find((p) => p.logicalPort === logicalPort);
      return port !== undefined && check(port) ? port : undefined;
    },
    { description: `status of ${logicalPort}: ${description}`, timeoutMs: 10_000, maxIntervalMs: 20 },
  );
}

beforeAll(async () => {
  sandbox = await startSandbox({ chassis: ['hv1'] });
  const devlinkDir = await makeWorkDir('devlink', sandbox.dir, 'devlink');
  const devlink = await writeFakeDevlinkWrapper(devlinkDir.path);
  const parsed = parseCommandLine(
    [
      `--ovs-db=${ovs().dbRemote}`,
      '--providers=representor',
      `--devlink-command=${devlink}`,
      '--card-serial=off',
      '--listen=off',
      '--log-level=silent',
    ],
    {},
  );
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  agent = await startAgent(parsed.config);
  await setBridgeDatapath('netdev');
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  await sandbox?.stop();
});

describe('representor provider on a userspace bridge (issue 9)', () => {
  let ifaceUuid: unknown;

  it('plugs a VF as type=dpdk with dpdk-devargs in DPDK representor grammar; ovs-vswitchd without DPDK fails it and the status says so verbatim', async () => {
    await sandbox.central.nbctlWaitSb(
      '--may-exist',
      'ls-add',
      'net1',
      '--',
      'lsp-add',
      'net1',
      'vm1-port',
      '--',
      'lsp-set-addresses',
      'vm1-port',
      'fa:16:3e:00:00:01 10.0.0.5',
      '--',
      'lsp-set-options',
      'vm1-port',
      'requested-chassis=hv1',
      'vif-plug-type=representor',
      `vif-plug-mtu-request=${MTU}`,
      `vif-plug:representor:pf-mac=${PF_MAC}`,
      'vif-plug:representor:vf-num=1',
    );
    const iface = await waitIface('pf0vf1', (row) => optionalValue(row['ofport']) === -1, 'ofport -1');
    ifaceUuid = iface['_uuid'];
    expect(iface['type']).toBe('dpdk');
    expect(asStringMap(iface['options'])).toEqual({ 'dpdk-devargs': VF1_DEVARGS });
    expect(optionalValue(iface['mtu_request'])).toBe(Number(MTU));
    expect(asStringMap(iface['external_ids'])).toMatchObject({
      'iface-id': 'vm1-port',
      'ovn-plug-agent': 'representor',
    });
    const error = optionalValue(iface['error']);
    expect(typeof error).toBe('string');
    console.log(`ovs-vswitchd on type=dpdk ${VF1_DEVARGS}: error ${JSON.stringify(error)}`);

    const failed = await waitPortState('vm1-port', (p) => p.state === 'Failed', 'Failed');
    expect(failed).toMatchObject({ interfaceName: 'pf0vf1', reason: 'InterfaceError', message: error });
    expect(optionalValue((await getPortBinding(sandbox.central, 'vm1-port'))?.['up'])).not.toBe(true);
  });

  it('with doca-init the same row becomes the OVS-DOCA form: named after the netdev, no devargs; an operator option survives', async () => {
    await ovs().vsctl('set', 'Interface', 'pf0vf1', 'options:n_rxq=2');
    await ovs().vsctl('set', 'Open_vSwitch', '.', 'other_config:doca-init=true');
    const iface = await waitIface(
      'pf0vf1',
      (row) => asStringMap(row['options'])['dpdk-devargs'] === undefined,
      'no dpdk-devargs',
    );
    expect(iface['_uuid']).toBe(ifaceUuid);
    expect(iface['type']).toBe('dpdk');
    expect(asStringMap(iface['options'])).toEqual({ n_rxq: '2' });
    expect(optionalValue(iface['mtu_request'])).toBe(Number(MTU));
    await waitPortState('vm1-port', (p) => p.state === 'Failed' && p.interfaceName === 'pf0vf1', 'Failed');
  });

  it('switching br-int back to the kernel-style datapath replugs the port as a system interface, and ovn-controller binds it', async () => {
    await ovs().vsctl('remove', 'Open_vSwitch', '.', 'other_config', 'doca-init');
    await setBridgeDatapath('dummy');
    const iface = await waitIface(
      'pf0vf1',
      (row) => row['type'] === '' && (optionalValue(row['ofport']) as number) > 0,
      'type "" with an ofport',
    );
    expect(asStringMap(iface['options'])).toEqual({ n_rxq: '2' });
    expect(optionalValue(iface['error'])).toBeUndefined();
    expect(optionalValue(iface['mtu_request'])).toBe(Number(MTU));
    await waitPortBindingUp(sandbox.central, 'vm1-port');
    await waitPortState('vm1-port', (p) => p.state === 'Bound', 'Bound');
  });

  it('and back to netdev: the upstream OVS-DPDK form again', async () => {
    await setBridgeDatapath('netdev');
    const iface = await waitIface('pf0vf1', (row) => row['type'] === 'dpdk', 'type dpdk');
    expect(asStringMap(iface['options'])).toEqual({ n_rxq: '2', 'dpdk-devargs': VF1_DEVARGS });
    expect(asStringMap(iface['external_ids'])['iface-id']).toBe('vm1-port');
    await waitPortState('vm1-port', (p) => p.state === 'Failed', 'Failed');
  });
});
