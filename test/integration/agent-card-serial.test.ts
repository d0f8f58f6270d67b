/**
 * Issue 9 part 4, end to end: the agent publishes the DPU's card serial (PCI VPD `SN`) as
 * `card-serial-number=` in `Open_vSwitch external_ids:ovn-cms-options`, and the sandbox's real,
 * unmodified ovn-controller carries it to the Southbound `Chassis` row, where Neutron looks for it.
 * FAKE parts: devlink (`fake-devlink.js` serving the hand-written BlueField-2 fixture) and sysfs
 * (`test/fixtures/sysfs/bluefield2`, hand-written VPD images from `make-vpd.mjs`).
 */
import { copyFile, cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseCommandLine, startAgent, type AgentHandle } from '../../src/agent/index.js';
import { makeWorkDir, startSandbox, waitUntil, type Sandbox } from '../harness/index.js';
import { vpdImage } from '../fixtures/sysfs/vpd-image.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const FAKE_DEVLINK = join(FIXTURES, 'devlink', 'fake-devlink.js');
const SERIAL = 'MT2109X00001';
const OTHER_OPTIONS = 'enable-chassis-as-gw,availability-zones=az1:az2';

let sandbox: Sandbox;
let devlink: string;
let sysfsRoot: string;
let agent: AgentHandle | undefined;

async function writeFakeDevlinkWrapper(dir: string): Promise<string> {
  const portsFile = join(dir, 'ports.json');
  const eventsFile = join(dir, 'events.ndjson');
  await copyFile(join(FIXTURES, 'devlink', 'bluefield2-dpu.port-show.json'), portsFile);
  await writeFile(eventsFile, '');
  const quote = (text: string): string => `'${text.replaceAll("'", "'\\''")}'`;
  const wrapper = join(dir, 'fake-devlink-serial.sh');
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

async function start(...extra: string[]): Promise<AgentHandle> {
  const parsed = parseCommandLine(
    [
      `--ovs-db=${ovs().dbRemote}`,
      '--providers=representor',
      `--devlink-command=${devlink}`,
      `--sysfs-root=${sysfsRoot}`,
      '--listen=off',
      '--log-level=silent',
      ...extra,
    ],
    {},
  );
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  agent = await startAgent(parsed.config);
  return agent;
}

async function localCmsOptions(): Promise<string> {
  const out = await ovs().vsctl('--if-exists', 'get', 'Open_vSwitch', '.', 'external_ids:ovn-cms-options');
  return out.trim().replace(/^"(.*)"$/, '$1');
}

async function sbCmsOptions(): Promise<string> {
  const out = await sandbox.central.sbctl(
    '--if-exists',
    'get',
    'Chassis',
    'hv1',
    'other_config:ovn-cms-options',
  );
  return out.trim().replace(/^"(.*)"$/, '$1');
}

function waitSb(expected: string): Promise<true> {
  return waitUntil(async () => (await sbCmsOptions()) === expected, {
    description: `SB Chassis hv1 other_config:ovn-cms-options = ${JSON.stringify(expected)}`,
    timeoutMs: 15_000,
  });
}

beforeAll(async () => {
  sandbox = await startSandbox({ chassis: ['hv1'] });
  const dir = await makeWorkDir('serial', sandbox.dir, 'serial');
  devlink = await writeFakeDevlinkWrapper(dir.path);
  // A private copy of the sysfs fixture, so one test can change a VPD image.
  sysfsRoot = join(dir.path, 'sys');
  await cp(join(FIXTURES, 'sysfs', 'bluefield2'), sysfsRoot, { recursive: true });
}, 60_000);

afterEach(async () => {
  await agent?.stop();
  agent = undefined;
});

afterAll(async () => {
  await sandbox?.stop();
});

describe('card serial for Neutron (issue 9)', () => {
  it('--card-serial=off writes nothing', async () => {
    await ovs().vsctl('set', 'Open_vSwitch', '.', `external_ids:ovn-cms-options="${OTHER_OPTIONS}"`);
    const running = await start('--card-serial=off');
    expect(running.cardSerial).toBeUndefined();
    await waitSb(OTHER_OPTIONS);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await localCmsOptions()).toBe(OTHER_OPTIONS);
  });

  it('publishes the VPD serial merged after the existing options; ovn-controller copies it to the SB Chassis row', async () => {
    const running = await start();
    await waitSb(`${OTHER_OPTIONS},card-serial-number=${SERIAL}`);
    expect(await localCmsOptions()).toBe(`${OTHER_OPTIONS},card-serial-number=${SERIAL}`);
    expect(running.cardSerial?.status).toEqual({
      state: 'published',
      serial: SERIAL,
      message: `card-serial-number=${SERIAL} is in ovn-cms-options (written by this agent)`,
    });
    const metrics = await running.metricsRegistry.metrics();
    expect(metrics).toContain('ovn_plug_card_serial_state{state="published"} 1');
  });

  it('a restart finds it present: no second write, no duplicate', async () => {
    const running = await start();
    await waitUntil(() => running.cardSerial?.status.state === 'published', {
      description: 'card serial published after restart',
    });
    expect(running.cardSerial?.status.message).toBe(
      `card-serial-number=${SERIAL} is in ovn-cms-options (found there, not rewritten)`,
    );
    expect(await localCmsOptions()).toBe(`${OTHER_OPTIONS},card-serial-number=${SERIAL}`);
    expect(await sbCmsOptions()).toBe(`${OTHER_OPTIONS},card-serial-number=${SERIAL}`);
  });

  it('an operator-set different serial is left alone and reported', async () => {
    const operatorSet = 'card-serial-number=OPERATOR-SN,enable-chassis-as-gw';
    await ovs().vsctl('set', 'Open_vSwitch', '.', `external_ids:ovn-cms-options="${operatorSet}"`);
    const running = await start();
    await waitUntil(() => running.cardSerial?.status.state === 'conflict', {
      description: 'card serial conflict reported',
    });
    expect(running.cardSerial?.status.message).toBe(
      `ovn-cms-options already names card-serial-number=OPERATOR-SN, but the card's VPD says ${SERIAL}; left as set`,
    );
    expect(await running.metricsRegistry.metrics()).toContain(
      'ovn_plug_card_serial_state{state="conflict"} 1',
    );
    await waitSb(operatorSet);
    expect(await localCmsOptions()).toBe(operatorSet);
  });

  it('two PCI functions with different serials: nothing is published, both are named', async () => {
    await ovs().vsctl('remove', 'Open_vSwitch', '.', 'external_ids', 'ovn-cms-options');
    await writeFile(
      join(sysfsRoot, 'bus', 'pci', 'devices', '0000:03:00.1', 'vpd'),
      vpdImage('MT2109X00002'),
    );
    const running = await start();
    await waitUntil(() => running.cardSerial?.status.state === 'ambiguous', {
      description: 'card serial ambiguous',
    });
    expect(running.cardSerial?.status.message).toContain(
      `${SERIAL} (0000:03:00.0); MT2109X00002 (0000:03:00.1)`,
    );
    expect(await localCmsOptions()).toBe('');
  });
});
