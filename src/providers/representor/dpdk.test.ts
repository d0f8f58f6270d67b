/**
 * The userspace-datapath forms (ADR 0053) against DPDK's own documentation: every single-port
 * example of the ethdev "representor" device argument (doc/guides/prog_guide/ethdev, and the cpfl
 * guide's controller examples) is read with our parser, and for every flavour our generator's
 * spec reads back as the function it was made for. Provider answers use the hand-written devlink
 * fixtures (no hardware here).
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { PlugAnswer, PlugRequest } from '../../plug/index.js';
import { FakeDevlinkSpawn } from '../../../test/fixtures/devlink/fake-devlink-spawn.js';
import type { DevlinkPort } from './devlink-json.js';
import {
  datapathMode,
  dpdkDevargs,
  dpdkRepresentorSpec,
  parseDpdkRepresentorSpec,
  pciAddressOf,
  representorFunction,
  type RepresentorFunction,
} from './dpdk.js';
import { RepresentorProvider, type RepresentorProviderOptions } from './provider.js';

const fixture = (name: string): string =>
  fileURLToPath(new URL(`../../../test/fixtures/devlink/${name}`, import.meta.url));

describe('DPDK representor grammar: the documentation examples', () => {
  it.each([
    // ethdev guide
    ['vf0', { controller: 0, pf: 0, vf: 0, attachesPf: false }],
    ['sf0', { controller: 0, pf: 0, sf: 0, attachesPf: false }],
    ['pf1vf0', { controller: 0, pf: 1, vf: 0, attachesPf: true }],
    ['(pf1)vf0', { controller: 0, pf: 1, vf: 0, attachesPf: false }],
    ['pf1', { controller: 0, pf: 1, attachesPf: true }],
    // cpfl guide (controller section)
    ['c0pf0', { controller: 0, pf: 0, attachesPf: true }],
    ['c1pf1', { controller: 1, pf: 1, attachesPf: true }],
    ['c1pf0', { controller: 1, pf: 0, attachesPf: true }],
  ])('reads %s', (spec, expected) => {
    expect(parseDpdkRepresentorSpec(spec)).toEqual(expected);
  });

  it.each(['', 'pf', 'vf', '(pf1)', 'c1vf0', '(pf1vf0', 'pf1)vf0', 'vf[0-3]', 'pf0vf0x'])(
    'refuses %j with a reason quoting it',
    (spec) => {
      const parsed = parseDpdkRepresentorSpec(spec);
      expect(typeof parsed).toBe('string');
      expect(parsed).toContain(`"${spec}"`);
    },
  );
});

describe('DPDK representor grammar: what the provider writes, per flavour', () => {
  const cases: [string, RepresentorFunction, string, string][] = [
    ['PF 0', { controller: 0, pf: 0 }, 'pf0', 'pf0'],
    ['PF 1', { controller: 0, pf: 1 }, 'pf1', 'pf1'],
    ['PF 0 of controller 1 (BlueField host PF)', { controller: 1, pf: 0 }, 'c1pf0', 'c1pf0'],
    ['VF 3 of PF 0', { controller: 0, pf: 0, vf: 3 }, 'vf3', 'vf3'],
    ['VF 0 of PF 1', { controller: 0, pf: 1, vf: 0 }, '(pf1)vf0', 'pf1vf0'],
    ['VF 2 of controller 1 PF 0', { controller: 1, pf: 0, vf: 2 }, 'c1(pf0)vf2', 'c1pf0vf2'],
    ['VF 0 of controller 2 PF 1', { controller: 2, pf: 1, vf: 0 }, 'c2(pf1)vf0', 'c2pf1vf0'],
    ['SF 88 of PF 0', { controller: 0, pf: 0, sf: 88 }, 'sf88', 'sf88'],
    ['SF 5 of PF 1', { controller: 0, pf: 1, sf: 5 }, '(pf1)sf5', 'pf1sf5'],
    ['SF 88 of controller 1 PF 0', { controller: 1, pf: 0, sf: 88 }, 'c1(pf0)sf88', 'c1pf0sf88'],
  ];

  it.each(cases)('%s: exclusive %s / plain %s', (_what, fn, exclusive, plain) => {
    expect(dpdkRepresentorSpec(fn, 'exclusive')).toBe(exclusive);
    expect(dpdkRepresentorSpec(fn, 'plain')).toBe(plain);
    // Read back as DPDK would: the same function; the exclusive form never attaches the PF for a VF/SF.
    const read = parseDpdkRepresentorSpec(exclusive);
    if (typeof read === 'string') throw new Error(read);
    expect({ controller: read.controller, pf: read.pf, vf: read.vf, sf: read.sf }).toEqual({
      controller: fn.controller,
      pf: fn.pf,
      vf: fn.vf,
      sf: fn.sf,
    });
    expect(read.attachesPf).toBe(fn.vf === undefined && fn.sf === undefined);
  });

  it('takes the PCI address from the devlink device and refuses other buses by name', () => {
    expect(pciAddressOf('pci/0000:03:00.1')).toBe('0000:03:00.1');
    expect(pciAddressOf('pci/0000:AF:00.0')).toBe('0000:af:00.0');
    expect(pciAddressOf('netdevsim/netdevsim10')).toBeUndefined();
    expect(pciAddressOf('pci/not-an-address')).toBeUndefined();
    const simVf: DevlinkPort = {
      handle: 'netdevsim/netdevsim10/11',
      device: 'netdevsim/netdevsim10',
      index: 11,
      flavour: 'pcivf',
      pfnum: 0,
      vfnum: 0,
    };
    expect(dpdkDevargs(simVf, 'exclusive')).toEqual({
      problem:
        'devlink device netdevsim/netdevsim10 is not a PCI device, so OVS-DPDK has no PCI address for "dpdk-devargs"',
    });
    expect(representorFunction({ handle: 'pci/0000:03:00.0/1', device: 'pci/0000:03:00.0', index: 1 })).toBe(
      'devlink port pci/0000:03:00.0/1 reports no pfnum',
    );
  });

  it('picks the form from the bridge: netdev → dpdk, with doca-init → doca; a setting overrides', () => {
    expect(datapathMode('auto', '', {})).toBe('system');
    expect(datapathMode('auto', 'system', { 'doca-init': 'true' })).toBe('system');
    expect(datapathMode('auto', 'netdev', {})).toBe('dpdk');
    expect(datapathMode('auto', 'netdev', { 'dpdk-init': 'true' })).toBe('dpdk');
    expect(datapathMode('auto', 'netdev', { 'doca-init': 'true' })).toBe('doca');
    expect(datapathMode('auto', 'netdev', { 'doca-init': 'false' })).toBe('dpdk');
    expect(datapathMode('auto', undefined, undefined)).toBe('system');
    expect(datapathMode('dpdk', '', {})).toBe('dpdk');
    expect(datapathMode('doca', '', {})).toBe('doca');
    expect(datapathMode('system', 'netdev', { 'doca-init': 'true' })).toBe('system');
  });
});

describe('RepresentorProvider on a userspace bridge (hand-written devlink fixtures)', () => {
  const providers: RepresentorProvider[] = [];
  afterEach(() => {
    for (const provider of providers.splice(0)) provider.destroy();
  });

  async function started(
    file: string,
    options: RepresentorProviderOptions = {},
  ): Promise<RepresentorProvider> {
    const provider = new RepresentorProvider({
      spawn: new FakeDevlinkSpawn(fixture(file)).spawn,
      ...options,
    });
    providers.push(provider);
    await provider.init();
    return provider;
  }

  const bridge = (
    datapathType: string,
    ovsOtherConfig: Record<string, string> = {},
  ): PlugRequest['bridge'] => ({
    name: 'br-int',
    datapathType,
    ovsOtherConfig,
  });

  function ask(
    provider: RepresentorProvider,
    pfMac: string,
    selector: { vf?: number; sf?: number },
    bridgeInfo: PlugRequest['bridge'],
  ): PlugAnswer {
    const options: Record<string, string> = {
      'vif-plug-type': 'representor',
      'vif-plug:representor:pf-mac': pfMac,
    };
    if (selector.vf !== undefined) options['vif-plug:representor:vf-num'] = String(selector.vf);
    if (selector.sf !== undefined) options['vif-plug:representor:sf-num'] = String(selector.sf);
    return provider.prepare({
      operation: 'create',
      logicalPort: 'lsp1',
      options,
      ...(bridgeInfo === undefined ? {} : { bridge: bridgeInfo }),
    });
  }

  it.each([
    // BlueField-3 multi-host: the DPU's own PF (controller 0) and two external hosts (1, 2).
    ['bluefield3-multihost.port-show.json', '02:5e:00:00:00:01', {}, 'pf0', '0000:03:00.0,representor=pf0'],
    [
      'bluefield3-multihost.port-show.json',
      '02:5e:00:00:00:01',
      { vf: 1 },
      'pf0vf1',
      '0000:03:00.0,representor=vf1',
    ],
    [
      'bluefield3-multihost.port-show.json',
      '08:c0:eb:d0:00:01',
      {},
      'c1pf0hpf',
      '0000:03:00.0,representor=c1pf0',
    ],
    [
      'bluefield3-multihost.port-show.json',
      '08:c0:eb:d0:00:01',
      { vf: 1 },
      'c1pf0vf1',
      '0000:03:00.0,representor=c1(pf0)vf1',
    ],
    [
      'bluefield3-multihost.port-show.json',
      '08:c0:eb:d0:00:02',
      { vf: 0 },
      'c2pf0vf0',
      '0000:03:00.0,representor=c2(pf0)vf0',
    ],
    // BlueField-2: host PF 1 lives on the second PCI function.
    ['bluefield2-dpu.port-show.json', '08:c0:eb:c4:2a:11', {}, 'pf1hpf', '0000:03:00.1,representor=c1pf1'],
    [
      'bluefield2-dpu.port-show.json',
      '08:c0:eb:c4:2a:10',
      { vf: 3 },
      'pf0vf3',
      '0000:03:00.0,representor=c1(pf0)vf3',
    ],
    // SFs of the host (controller 1).
    [
      'bluefield2-dpu-sfs.port-show.json',
      '08:c0:eb:c4:2a:10',
      { sf: 88 },
      'en3f0c1pf0sf88',
      '0000:03:00.0,representor=c1(pf0)sf88',
    ],
  ] as const)('%s %s %j → %s with %s (upstream OVS-DPDK)', async (file, pfMac, selector, name, devargs) => {
    const provider = await started(file);
    expect(ask(provider, pfMac, selector, bridge('netdev'))).toEqual({
      kind: 'ready',
      name,
      type: 'dpdk',
      options: { 'dpdk-devargs': devargs },
    });
    // OVS-DOCA: the same representor by netdev name, no devargs.
    expect(ask(provider, pfMac, selector, bridge('netdev', { 'doca-init': 'true' }))).toEqual({
      kind: 'ready',
      name,
      type: 'dpdk',
      options: {},
    });
    // The kernel datapath: the netdev as a system interface (no type, no devargs).
    expect(ask(provider, pfMac, selector, bridge(''))).toEqual({ kind: 'ready', name, options: {} });
    expect(ask(provider, pfMac, selector, undefined)).toEqual({ kind: 'ready', name, options: {} });
  });

  it('plain syntax for DPDK before 25.11', async () => {
    const provider = await started('bluefield2-dpu.port-show.json', { dpdkRepresentorSyntax: 'plain' });
    expect(ask(provider, '08:c0:eb:c4:2a:10', { vf: 3 }, bridge('netdev'))).toMatchObject({
      options: { 'dpdk-devargs': '0000:03:00.0,representor=c1pf0vf3' },
    });
  });

  it('a forced datapath setting wins over the bridge', async () => {
    const provider = await started('bluefield2-dpu.port-show.json', { datapath: 'doca' });
    expect(ask(provider, '08:c0:eb:c4:2a:10', { vf: 3 }, bridge(''))).toEqual({
      kind: 'ready',
      name: 'pf0vf3',
      type: 'dpdk',
      options: {},
    });
  });

  it('a non-PCI devlink device on a netdev bridge is Pending with a reason, not a wrong devargs', async () => {
    const provider = await started('netdevsim.port-show.json');
    expect(ask(provider, '00:53:00:00:00:42', { vf: 2 }, bridge('netdev'))).toEqual({
      kind: 'notNow',
      code: 'NoDpdkDevargs',
      reason:
        'cannot plug eni10npf0vf2 into a userspace (netdev) bridge: devlink device netdevsim/netdevsim10 is not a PCI device, so OVS-DPDK has no PCI address for "dpdk-devargs"',
    });
    // The DOCA form needs no devargs.
    expect(
      ask(provider, '00:53:00:00:00:42', { vf: 2 }, bridge('netdev', { 'doca-init': 'true' })),
    ).toMatchObject({
      kind: 'ready',
      type: 'dpdk',
    });
  });

  it('lists the devargs in the inventory once it answers for a userspace bridge', async () => {
    const provider = await started('bluefield2-dpu.port-show.json');
    expect(
      provider.inventory().items.find((i) => i.name === 'pf0vf3')?.details['dpdkDevargs'],
    ).toBeUndefined();
    ask(provider, '08:c0:eb:c4:2a:10', { vf: 3 }, bridge('netdev'));
    const inventory = provider.inventory();
    expect(inventory.items.find((i) => i.name === 'pf0vf3')?.details['dpdkDevargs']).toBe(
      '0000:03:00.0,representor=c1(pf0)vf3',
    );
    expect(inventory.notes?.join('\n')).toContain('type=dpdk with dpdk-devargs');
  });
});
