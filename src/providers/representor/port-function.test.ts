/**
 * Port-function configuration outcomes (DESIGN §3.5, ADR 0054) with the FAKE in-process devlink
 * and the hand-written BlueField-2 fixture: applied before the answer is ready, read back from
 * devlink's own report, a contradicting device is `Failed` (a failed not-now), and what the device
 * or an older devlink cannot do is a warning on a port that otherwise plugs.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { PlugAnswer, PlugRequest } from '../../plug/index.js';
import { FakeDevlinkSpawn } from '../../../test/fixtures/devlink/fake-devlink-spawn.js';
import { portFunctionSettings } from './port-function.js';
import { RepresentorProvider } from './provider.js';

const PORTS = fileURLToPath(
  new URL('../../../test/fixtures/devlink/bluefield2-dpu.port-show.json', import.meta.url),
);
const PF_MAC = '08:c0:eb:c4:2a:10';
const VF1 = 'pci/0000:03:00.0/196609';
const LSP_MAC = 'fa:16:3e:00:00:01';

const providers: RepresentorProvider[] = [];
afterEach(() => {
  for (const provider of providers.splice(0)) provider.destroy();
});

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i += 1) await new Promise<void>((resolve) => process.nextTick(resolve));
}

async function started(devlink: FakeDevlinkSpawn): Promise<RepresentorProvider> {
  const provider = new RepresentorProvider({ spawn: devlink.spawn });
  providers.push(provider);
  await provider.init();
  return provider;
}

function request(extra: Record<string, string>, mac?: string): PlugRequest {
  return {
    operation: 'create',
    logicalPort: 'vm1',
    options: {
      'vif-plug-type': 'representor',
      'vif-plug:representor:pf-mac': PF_MAC,
      'vif-plug:representor:vf-num': '1',
      ...extra,
    },
    ...(mac === undefined ? {} : { mac }),
  };
}

/** The VF 1 entry of the fixture with function attributes as a device would report them. */
function vf1Event(fn: Record<string, string>): string {
  return JSON.stringify({
    command: 'new',
    port: {
      [VF1]: {
        type: 'eth',
        netdev: 'pf0vf1',
        flavour: 'pcivf',
        controller: 1,
        pfnum: 0,
        vfnum: 1,
        external: true,
        splittable: false,
        function: { hw_addr: '00:00:00:00:00:00', ...fn },
      },
    },
  });
}

function sets(devlink: FakeDevlinkSpawn): string[] {
  return devlink.calls.filter((c) => c.args[1] === 'function').map((c) => c.args.slice(3).join(' '));
}

describe('port-function options', () => {
  it('reads roce and migratable in devlink words, and names a bad value', () => {
    expect(portFunctionSettings({ 'vif-plug:representor:roce': 'Enable' }, 'FA:16:3E:00:00:01')).toEqual([
      { attribute: 'hw_addr', value: LSP_MAC },
      { attribute: 'roce', value: 'enable' },
    ]);
    expect(portFunctionSettings({ 'vif-plug:representor:migratable': 'disable' }, undefined)).toEqual([
      { attribute: 'migratable', value: 'disable' },
    ]);
    expect(portFunctionSettings({ 'vif-plug:representor:roce': 'on' }, undefined)).toEqual({
      kind: 'notNow',
      code: 'MalformedPortFunctionOption',
      reason: 'option "vif-plug:representor:roce" is not "enable" or "disable": "on"',
    });
  });
});

describe('RepresentorProvider: port-function outcomes', () => {
  it('sets roce before answering, then plugs without warnings once devlink reports it', async () => {
    const devlink = new FakeDevlinkSpawn(PORTS);
    const provider = await started(devlink);
    const first = provider.prepare(request({ 'vif-plug:representor:roce': 'enable' }));
    expect(first).toEqual({
      kind: 'notNow',
      code: 'ConfiguringPortFunction',
      reason: `setting roce enable on VF 1 (devlink port ${VF1})`,
    });
    await settle();
    expect(sets(devlink)).toEqual([`${VF1} roce enable`]);
    expect(provider.prepare(request({ 'vif-plug:representor:roce': 'enable' }))).toEqual({
      kind: 'ready',
      name: 'pf0vf1',
      options: {},
    });
    // The kernel's notification confirms it: still ready, nothing set twice.
    devlink.lastMonitor.emitOutput(`{"mon":[${vf1Event({ roce: 'enable' })}`);
    await settle();
    expect(provider.prepare(request({ 'vif-plug:representor:roce': 'enable' }))).toMatchObject({
      kind: 'ready',
    });
    expect(sets(devlink)).toHaveLength(1);
  });

  it("iproute2 6.1's 'Unknown option' refusal is a warning on a port that plugs, not a Pending port", async () => {
    const devlink = new FakeDevlinkSpawn(PORTS);
    devlink.functionSet = (_handle, _value, attribute) =>
      attribute === 'roce' ? { code: 1, stderr: 'Unknown option "roce"\n' } : { code: 0 };
    const provider = await started(devlink);
    const ask = (): PlugAnswer =>
      provider.prepare(request({ 'vif-plug:representor:roce': 'enable' }, LSP_MAC));
    expect(ask()).toMatchObject({ code: 'ProgrammingMac' });
    await settle();
    expect(ask()).toMatchObject({ code: 'ConfiguringPortFunction' });
    await settle();
    expect(ask()).toEqual({
      kind: 'ready',
      name: 'pf0vf1',
      options: {},
      warnings: [
        {
          code: 'PortFunctionUnsupported',
          message: `VF 1 (devlink port ${VF1}): cannot set roce enable: Unknown option "roce"`,
        },
      ],
    });
    expect(sets(devlink)).toEqual([`${VF1} hw_addr ${LSP_MAC}`, `${VF1} roce enable`]);
    expect(provider.inventory().notes).toContain(
      `devlink port ${VF1} cannot set roce: Unknown option "roce"`,
    );
  });

  it('a driver that does not support the MAC: plugged with a warning naming the driver message', async () => {
    const devlink = new FakeDevlinkSpawn(PORTS);
    devlink.functionSet = () => ({
      code: 1,
      stderr: 'Error: mlx5_core: Port function hw_addr set is not supported.\n',
    });
    const provider = await started(devlink);
    provider.prepare(request({}, LSP_MAC));
    await settle();
    expect(provider.prepare(request({}, LSP_MAC))).toMatchObject({
      kind: 'ready',
      warnings: [
        {
          code: 'PortFunctionUnsupported',
          message: `VF 1 (devlink port ${VF1}): cannot set hw_addr ${LSP_MAC}: Error: mlx5_core: Port function hw_addr set is not supported.`,
        },
      ],
    });
  });

  it('a device that still reports a different value after three sets in a row is Failed with both values, and not set in a loop', async () => {
    const devlink = new FakeDevlinkSpawn(PORTS);
    const provider = await started(devlink);
    provider.prepare(request({}, LSP_MAC));
    await settle();
    expect(provider.prepare(request({}, LSP_MAC))).toMatchObject({ kind: 'ready' });
    // The kernel's notification after the set says the function kept another address: set again.
    devlink.lastMonitor.emitOutput(`{"mon":[${vf1Event({ hw_addr: '02:00:00:00:00:99' })}`);
    await settle();
    expect(provider.prepare(request({}, LSP_MAC))).toMatchObject({ kind: 'notNow', code: 'ProgrammingMac' });
    await settle();
    expect(sets(devlink)).toHaveLength(2);
    // Still the other address after the second and the third set: Failed, and no fourth set.
    devlink.lastMonitor.emitOutput(`,${vf1Event({ hw_addr: '02:00:00:00:00:99' })}`);
    await settle();
    expect(provider.prepare(request({}, LSP_MAC))).toMatchObject({ kind: 'notNow', code: 'ProgrammingMac' });
    await settle();
    expect(sets(devlink)).toHaveLength(3);
    devlink.lastMonitor.emitOutput(`,${vf1Event({ hw_addr: '02:00:00:00:00:99' })}`);
    await settle();
    expect(provider.prepare(request({}, LSP_MAC))).toEqual({
      kind: 'notNow',
      code: 'PortFunctionMismatch',
      failed: true,
      reason: `VF 1 (devlink port ${VF1}) reports hw_addr "02:00:00:00:00:99" after it was set to "${LSP_MAC}"`,
    });
    expect(provider.prepare(request({}, LSP_MAC))).toMatchObject({ code: 'PortFunctionMismatch' });
    expect(sets(devlink)).toHaveLength(3);
    // A new request value starts over.
    expect(provider.prepare(request({}, 'fa:16:3e:00:00:02'))).toMatchObject({ code: 'ProgrammingMac' });
  });
});
