/**
 * Issue 9 part 3, end to end: scalable functions created on request, against a real OVN sandbox
 * (NB, SB, ovn-northd, ovs-vswitchd --enable-dummy=override, UNMODIFIED ovn-controller). FAKE
 * part: devlink (`fake-devlink.js`, which adds and deletes SF ports in its table and announces them
 * on its monitor stream like the kernel) serving the hand-written BlueField-2 fixtures. The
 * wrapper snapshots the real OVS DB at the moment `devlink port add` runs, which shows that the
 * agent's record was committed before the SF existed.
 */
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  parseCommandLine,
  startAgent,
  type AgentHandle,
  type ProviderInventoryReport,
} from '../../src/agent/index.js';
import {
  asStringMap,
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
const PF_MAC = '08:c0:eb:c4:2a:10';
const SF7_ID = 'pci/0000:03:00.0/c1/pf0/sf7';
const SF7_HANDLE = 'pci/0000:03:00.0/32775';
const RECORD_KEY = `ovn-plug-agent-sf:${SF7_ID}`;

let sandbox: Sandbox;
let agent: AgentHandle;
let dir: string;
let wrapperPath: string;

async function startTestAgent(): Promise<AgentHandle> {
  const parsed = parseCommandLine(
    [
      `--ovs-db=${ovs().dbRemote}`,
      '--providers=representor',
      `--devlink-command=${wrapperPath}`,
      '--card-serial=off',
      // Deleting the only owned port must not be held by the removal guard (DESIGN §3.4 case 1).
      '--mass-removal-min-ports=8',
      '--listen=127.0.0.1:0',
      '--log-level=silent',
    ],
    {},
  );
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return startAgent(parsed.config);
}

const ovs = (): Sandbox['nodes'][number]['ovs'] => sandbox.node('hv1').ovs;

async function devlinkCalls(): Promise<string[]> {
  const text = await readFile(join(dir, 'calls.log'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => (JSON.parse(line) as string[]).filter((a) => a !== '-j').join(' '))
    .filter((call) => !call.startsWith('port show') && !call.startsWith('monitor'));
}

async function sfRecord(): Promise<string | undefined> {
  const out = (
    await ovs().vsctl('--if-exists', 'get', 'Open_vSwitch', '.', `external_ids:"${RECORD_KEY}"`)
  ).trim();
  return out === '' ? undefined : out.replace(/^"(.*)"$/, '$1');
}

async function ifaceByName(name: string): Promise<CtlRow | undefined> {
  return (await ovs().interfaces()).find((row) => row['name'] === name);
}

beforeAll(async () => {
  sandbox = await startSandbox({ chassis: ['hv1'] });
  dir = (await makeWorkDir('devlink', sandbox.dir, 'devlink')).path;
  // The SF fixture: host PF 0 (controller 1) with SFs 88 and 89 that the agent did not create.
  await copyFile(join(FIXTURES, 'bluefield2-dpu-sfs.port-show.json'), join(dir, 'ports.json'));
  await writeFile(join(dir, 'events.ndjson'), '');
  const quote = (text: string): string => `'${text.replaceAll("'", "'\\''")}'`;
  const wrapper = join(dir, 'fake-devlink-sf.sh');
  await writeFile(
    wrapper,
    [
      '#!/bin/sh',
      `export FAKE_DEVLINK_PORTS=${quote(join(dir, 'ports.json'))}`,
      `export FAKE_DEVLINK_EVENTS=${quote(join(dir, 'events.ndjson'))}`,
      `export FAKE_DEVLINK_LOG=${quote(join(dir, 'calls.log'))}`,
      'case " $* " in',
      `  *" port add "*) ovs-vsctl --db=${quote(ovs().dbRemote)} get Open_vSwitch . external_ids > ${quote(join(dir, 'at-port-add.txt'))} ;;`,
      'esac',
      `exec ${quote(process.execPath)} ${quote(FAKE_DEVLINK)} "$@"`,
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  wrapperPath = wrapper;
  agent = await startTestAgent();
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  await sandbox?.stop();
});

async function createPort(name: string, mac: string, sfNum: number): Promise<void> {
  await sandbox.central.nbctlWaitSb(
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
    'requested-chassis=hv1',
    'vif-plug-type=representor',
    `vif-plug:representor:pf-mac=${PF_MAC}`,
    `vif-plug:representor:sf-num=${sfNum}`,
    'vif-plug:representor:sf-add=true',
  );
}

describe('scalable functions created on request (issue 9)', () => {
  it('records the SF in the OVS DB before devlink port add, configures and activates it, plugs its representor, and ovn-controller binds it', async () => {
    await createPort('vm-sf', 'fa:16:3e:00:00:07', 7);
    await waitPortBindingUp(sandbox.central, 'vm-sf');
    const iface = await ifaceByName('en3f0c1pf0sf7');
    expect(asStringMap(iface?.['external_ids'])).toMatchObject({
      'iface-id': 'vm-sf',
      'ovn-plug-agent': 'representor',
    });
    expect(optionalValue(iface?.['ofport'])).toBeGreaterThan(0);

    // At the moment devlink port add ran, the record was already committed.
    expect(await readFile(join(dir, 'at-port-add.txt'), 'utf8')).toContain(`"${RECORD_KEY}"=vm-sf`);
    expect(await sfRecord()).toBe('vm-sf');
    expect(await devlinkCalls()).toEqual([
      'port add pci/0000:03:00.0 flavour pcisf pfnum 0 sfnum 7 controller 1',
      `port function set ${SF7_HANDLE} hw_addr fa:16:3e:00:00:07`,
      `port function set ${SF7_HANDLE} state active`,
    ]);

    const reports = (await (await fetch(`${agent.url ?? ''}/providers`)).json()) as ProviderInventoryReport[];
    const items = reports.find((r) => r.type === 'representor')?.items ?? [];
    expect(items.find((i) => i.name === 'en3f0c1pf0sf7')).toMatchObject({
      logicalPort: 'vm-sf',
      details: {
        sfNum: 7,
        state: 'active',
        opstate: 'attached',
        createdFor: 'vm-sf',
        hwAddr: 'fa:16:3e:00:00:07',
      },
    });
    // SFs the agent did not create are listed without an owner record.
    expect(items.find((i) => i.name === 'en3f0c1pf0sf88')?.details).toMatchObject({
      sfNum: 88,
      state: 'active',
    });
    expect(items.find((i) => i.name === 'en3f0c1pf0sf88')?.details['createdFor']).toBeUndefined();
  });

  it('an existing SF the agent did not create is plugged, and never deleted on unplug', async () => {
    await createPort('vm-foreign-sf', 'fa:16:3e:00:00:88', 88);
    await waitPortBindingUp(sandbox.central, 'vm-foreign-sf');
    expect((await devlinkCalls()).filter((c) => c.startsWith('port add'))).toHaveLength(1);
    await sandbox.central.nbctlWaitSb('lsp-del', 'vm-foreign-sf');
    await waitUntil(async () => (await ifaceByName('en3f0c1pf0sf88')) === undefined, {
      description: 'en3f0c1pf0sf88 unplugged',
      timeoutMs: 10_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(
      (await devlinkCalls()).filter((c) => c.includes('pci/0000:03:00.0/229464') && !c.includes('hw_addr')),
    ).toEqual([]);
  });

  it('on unplug it deactivates and deletes the SF it created, then drops the record', async () => {
    await sandbox.central.nbctlWaitSb('lsp-del', 'vm-sf');
    await waitUntil(async () => (await sfRecord()) === undefined, {
      description: 'SF record dropped',
      timeoutMs: 15_000,
    });
    expect(await ifaceByName('en3f0c1pf0sf7')).toBeUndefined();
    const calls = await devlinkCalls();
    expect(calls.slice(-2)).toEqual([
      `port function set ${SF7_HANDLE} state inactive`,
      `port del ${SF7_HANDLE}`,
    ]);
  });

  it('after a restart the agent adopts the SF it recorded (no second add) and still deletes it on unplug', async () => {
    await createPort('vm-sf2', 'fa:16:3e:00:00:09', 9);
    await waitPortBindingUp(sandbox.central, 'vm-sf2');
    const record = 'ovn-plug-agent-sf:pci/0000:03:00.0/c1/pf0/sf9';
    const adds = async (): Promise<number> =>
      (await devlinkCalls()).filter((c) => c.startsWith('port add') && c.includes('sfnum 9')).length;
    expect(await adds()).toBe(1);
    await agent.stop();
    agent = await startTestAgent();
    await waitUntil(() => agent.status().ports.find((p) => p.logicalPort === 'vm-sf2')?.state === 'Bound', {
      description: 'vm-sf2 Bound after restart',
      timeoutMs: 10_000,
    });
    expect(await adds()).toBe(1);
    await sandbox.central.nbctlWaitSb('lsp-del', 'vm-sf2');
    await waitUntil(
      async () =>
        (await ovs().vsctl('--if-exists', 'get', 'Open_vSwitch', '.', `external_ids:"${record}"`)).trim() ===
        '',
      { description: 'SF 9 record dropped', timeoutMs: 15_000 },
    );
    expect((await devlinkCalls()).slice(-1)).toEqual(['port del pci/0000:03:00.0/32777']);
  });
});
