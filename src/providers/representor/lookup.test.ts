import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { NotNow } from '../../plug/index.js';
import { parsePortShowOutput } from './devlink-json.js';
import type { DevlinkPort } from './devlink-json.js';
import type { RepresentorMatch } from './lookup.js';
import { formatNumberRanges, lookupRepresentor, parseSelector } from './lookup.js';
import type { FallbackMac, PortTable } from './port-table.js';
import { buildPortTable, pfsNeedingFallbackMac } from './port-table.js';
import { parseSmartNicPfConfig, smartNicPfConfigPath } from './sysfs.js';

const ports = (name: string): readonly DevlinkPort[] =>
  parsePortShowOutput(
    readFileSync(new URL(`../../../test/fixtures/devlink/${name}`, import.meta.url), 'utf8'),
  ).ports;
const table = (name: string, fallback?: ReadonlyMap<string, FallbackMac>): PortTable =>
  buildPortTable(ports(name), fallback);

const BF_PF0 = '08:c0:eb:c4:2a:10';

function find(t: PortTable, options: Record<string, string>): RepresentorMatch | NotNow {
  const selector = parseSelector(options);
  if ('kind' in selector) return selector;
  return lookupRepresentor(t, selector);
}

function netdev(answer: RepresentorMatch | NotNow): string {
  if (answer.kind !== 'found')
    throw new Error(`expected a representor, got ${answer.code ?? ''}: ${answer.reason}`);
  return answer.netdev;
}

function miss(answer: RepresentorMatch | NotNow): NotNow {
  if (answer.kind !== 'notNow') throw new Error(`expected not-now, got ${answer.netdev}`);
  return answer;
}

describe('parseSelector: option validation', () => {
  it.each([
    [{}, 'MissingPfMac', 'option "vif-plug:representor:pf-mac" is missing'],
    [{ 'vif-plug:representor:pf-mac': ' ' }, 'MissingPfMac', 'is empty'],
    [
      { 'vif-plug:representor:pf-mac': '08:c0:eb:c4:2a' },
      'MalformedPfMac',
      'not a MAC address (xx:xx:xx:xx:xx:xx): "08:c0:eb:c4:2a"',
    ],
    [{ 'vif-plug:representor:pf-mac': '08-c0-eb-c4-2a-10' }, 'MalformedPfMac', '"08-c0-eb-c4-2a-10"'],
    [
      { 'vif-plug:representor:pf-mac': BF_PF0, 'vif-plug:representor:vf-num': '-1' },
      'MalformedVfNum',
      'option "vif-plug:representor:vf-num" is not an integer between 0 and 65535: "-1"',
    ],
    [
      { 'vif-plug:representor:pf-mac': BF_PF0, 'vif-plug:representor:vf-num': '3x' },
      'MalformedVfNum',
      '"3x"',
    ],
    [
      { 'vif-plug:representor:pf-mac': BF_PF0, 'vif-plug:representor:vf-num': '70000' },
      'MalformedVfNum',
      '"70000"',
    ],
    [
      { 'vif-plug:representor:pf-mac': BF_PF0, 'vif-plug:representor:sf-num': 'abc' },
      'MalformedSfNum',
      '"abc"',
    ],
    [
      {
        'vif-plug:representor:pf-mac': BF_PF0,
        'vif-plug:representor:vf-num': '1',
        'vif-plug:representor:sf-num': '88',
      },
      'ConflictingOptions',
      'exclude each other',
    ],
  ])('%j -> %s', (options, code, reason) => {
    const answer = parseSelector(options);
    expect(answer).toMatchObject({ kind: 'notNow', code });
    expect('reason' in answer ? answer.reason : '').toContain(reason);
  });

  it('accepts any case and surrounding blanks, and an empty vf-num as "no VF"', () => {
    expect(
      parseSelector({
        'vif-plug:representor:pf-mac': ' 08:C0:EB:C4:2A:10 ',
        'vif-plug:representor:vf-num': '',
      }),
    ).toEqual({
      pfMac: BF_PF0,
    });
  });

  it('reads the pre-21.12 spelling plug:representor:* when the new keys are absent', () => {
    expect(parseSelector({ 'plug:representor:pf-mac': BF_PF0, 'plug:representor:vf-num': '2' })).toEqual({
      pfMac: BF_PF0,
      vfNum: 2,
    });
  });
});

describe('lookupRepresentor on a BlueField-2 DPU', () => {
  const bf = table('bluefield2-dpu.port-show.json');

  it('finds the VF representor by host PF MAC + VF number (Neutron remote-managed port)', () => {
    expect(
      netdev(find(bf, { 'vif-plug:representor:pf-mac': BF_PF0, 'vif-plug:representor:vf-num': '2' })),
    ).toBe('pf0vf2');
    expect(
      netdev(
        find(bf, { 'vif-plug:representor:pf-mac': '08:C0:EB:C4:2A:10', 'vif-plug:representor:vf-num': '0' }),
      ),
    ).toBe('pf0vf0');
  });

  it('finds the PF representor without vf-num, per PF', () => {
    expect(netdev(find(bf, { 'vif-plug:representor:pf-mac': BF_PF0 }))).toBe('pf0hpf');
    expect(netdev(find(bf, { 'vif-plug:representor:pf-mac': '08:c0:eb:c4:2a:11' }))).toBe('pf1hpf');
  });

  it('VF 7 not found: names the PF and the known VF range', () => {
    const answer = miss(
      find(bf, { 'vif-plug:representor:pf-mac': BF_PF0, 'vif-plug:representor:vf-num': '7' }),
    );
    expect(answer).toEqual({
      kind: 'notNow',
      code: 'VfNotFound',
      reason: `VF 7 not found under PF ${BF_PF0} (pf0hpf, controller 1, pci/0000:03:00.0 pfnum 0) (VFs 0–3 known)`,
    });
  });

  it('a PF without VFs says no VFs are known and hints at sriov_numvfs', () => {
    const answer = miss(
      find(bf, { 'vif-plug:representor:pf-mac': '08:c0:eb:c4:2a:11', 'vif-plug:representor:vf-num': '0' }),
    );
    expect(answer.reason).toContain('(no VFs known: are VFs created on the host (sriov_numvfs)?)');
  });

  it('no PF with that MAC: quotes it and lists the known PFs', () => {
    const answer = miss(
      find(bf, { 'vif-plug:representor:pf-mac': '02:00:00:00:00:99', 'vif-plug:representor:vf-num': '0' }),
    );
    expect(answer.code).toBe('PfNotFound');
    expect(answer.reason).toBe(
      'no PF with MAC "02:00:00:00:00:99" (known PFs: 08:c0:eb:c4:2a:10 (pf0hpf, controller 1, pci/0000:03:00.0 pfnum 0); ' +
        '08:c0:eb:c4:2a:11 (pf1hpf, controller 1, pci/0000:03:00.1 pfnum 1))',
    );
  });
});

describe('lookupRepresentor: controller numbers on a multi-host DPU', () => {
  const mh = table('bluefield3-multihost.port-show.json');

  it('keeps the PFs of controllers 0, 1 and 2 apart although all are pfnum 0 on one device', () => {
    expect(mh.pfs.map((pf) => [pf.id, pf.mac])).toEqual([
      ['pci/0000:03:00.0/c0/pf0', '02:5e:00:00:00:01'],
      ['pci/0000:03:00.0/c1/pf0', '08:c0:eb:d0:00:01'],
      ['pci/0000:03:00.0/c2/pf0', '08:c0:eb:d0:00:02'],
    ]);
  });

  it("VF 0 of each host resolves to that controller's representor, never another one's", () => {
    const vf0 = (mac: string): string =>
      netdev(find(mh, { 'vif-plug:representor:pf-mac': mac, 'vif-plug:representor:vf-num': '0' }));
    expect(vf0('02:5e:00:00:00:01')).toBe('pf0vf0');
    expect(vf0('08:c0:eb:d0:00:01')).toBe('c1pf0vf0');
    expect(vf0('08:c0:eb:d0:00:02')).toBe('c2pf0vf0');
  });

  it('a VF that exists only on another controller is not found', () => {
    const answer = miss(
      find(mh, { 'vif-plug:representor:pf-mac': '08:c0:eb:d0:00:02', 'vif-plug:representor:vf-num': '1' }),
    );
    expect(answer.reason).toBe(
      'VF 1 not found under PF 08:c0:eb:d0:00:02 (c2pf0hpf, controller 2, pci/0000:03:00.0 pfnum 0) (VFs 0 known)',
    );
  });

  it('two PFs reporting one MAC is refused rather than guessed', () => {
    const all = ports('bluefield3-multihost.port-show.json').map((p) =>
      p.netdev === 'c2pf0hpf' ? { ...p, hwAddr: '08:c0:eb:d0:00:01' } : p,
    );
    const answer = miss(find(buildPortTable(all), { 'vif-plug:representor:pf-mac': '08:c0:eb:d0:00:01' }));
    expect(answer.code).toBe('PfAmbiguous');
    expect(answer.reason).toContain('is reported by 2 PFs');
  });
});

describe('lookupRepresentor: scalable functions', () => {
  const sf = table('bluefield2-dpu-sfs.port-show.json');

  it('finds an SF representor by sf-num', () => {
    expect(
      netdev(find(sf, { 'vif-plug:representor:pf-mac': BF_PF0, 'vif-plug:representor:sf-num': '89' })),
    ).toBe('en3f0c1pf0sf89');
  });

  it('an unknown SF lists the known SFs', () => {
    const answer = miss(
      find(sf, { 'vif-plug:representor:pf-mac': BF_PF0, 'vif-plug:representor:sf-num': '1' }),
    );
    expect(answer).toMatchObject({ code: 'SfNotFound' });
    expect(answer.reason).toContain('SF 1 not found under PF 08:c0:eb:c4:2a:10');
    expect(answer.reason).toContain('(SFs 88–89 known)');
  });
});

describe('lookupRepresentor: ConnectX host in switchdev mode (ovn-org/ovn#169)', () => {
  const cx = table('connectx6-host-switchdev.port-show.json');

  it('has no PFs; its VFs are kept as orphans instead of crashing or vanishing silently', () => {
    expect(cx.pfs).toEqual([]);
    expect(cx.orphans.map((o) => o.port.netdev)).toEqual([
      'enp8s0f0npf0vf0',
      'enp8s0f0npf0vf1',
      'enp8s0f0npf0vf2',
      'enp8s0f0npf0vf3',
    ]);
  });

  it('answers with a reason that explains the host-side NIC case', () => {
    const answer = miss(
      find(cx, { 'vif-plug:representor:pf-mac': '0c:42:a1:00:00:01', 'vif-plug:representor:vf-num': '4' }),
    );
    expect(answer.code).toBe('NoPfRepresentors');
    expect(answer.reason).toContain(
      'no PF with MAC "0c:42:a1:00:00:01": devlink shows no pcipf (host PF) ports at all (6 ports)',
    );
    expect(answer.reason).toContain('host-side switchdev NIC');
    expect(answer.reason).toContain('ovn-org/ovn#169');
  });
});

describe('lookupRepresentor: netdevsim and rename in progress', () => {
  it('finds netdevsim VFs (the ovn-vif system test setup)', () => {
    const nsim = table('netdevsim.port-show.json');
    expect(
      netdev(
        find(nsim, {
          'vif-plug:representor:pf-mac': '00:53:00:00:00:42',
          'vif-plug:representor:vf-num': '0',
        }),
      ),
    ).toBe('eni10npf0vf0');
  });

  it('a VF port without netdev yet is "netdev rename in progress"', () => {
    const nsim = table('netdevsim-vf3-no-netdev.port-show.json');
    const answer = miss(
      find(nsim, { 'vif-plug:representor:pf-mac': '00:53:00:00:00:42', 'vif-plug:representor:vf-num': '3' }),
    );
    expect(answer.code).toBe('RenameInProgress');
    expect(answer.reason).toBe(
      'VF 3 representor under PF 00:53:00:00:00:42 has no netdev yet (devlink port netdevsim/netdevsim10/14): ' +
        'netdev rename in progress, will plug when it settles',
    );
  });

  it('a provisional name is refused while the caller says it is still expected to change', () => {
    const nsim = table('netdevsim.port-show.json');
    const selector = parseSelector({
      'vif-plug:representor:pf-mac': '00:53:00:00:00:42',
      'vif-plug:representor:vf-num': '1',
    });
    if ('kind' in selector) throw new Error(selector.reason);
    const answer = lookupRepresentor(nsim, selector, (port) => port.netdev === 'eni10npf0vf1');
    expect(answer).toMatchObject({ kind: 'notNow', code: 'RenameInProgress' });
    expect(miss(answer).reason).toContain('provisional name "eni10npf0vf1"');
  });
});

describe('PF MAC from sysfs when devlink reports none', () => {
  const zero = ports('bluefield2-dpu-zero-pf-mac.port-show.json');
  const sysfsRoot = new URL('../../../test/fixtures/sysfs/bluefield2', import.meta.url).pathname;

  it('names the uplink whose smart_nic/pf/config to read', () => {
    expect(pfsNeedingFallbackMac(zero).map((entry) => [entry.pf.netdev, entry.uplink])).toEqual([
      ['pf0hpf', 'p0'],
    ]);
  });

  it('uses the MAC read from the BlueField sysfs fixture', () => {
    const text = readFileSync(smartNicPfConfigPath(sysfsRoot, 'p0'), 'utf8');
    const mac = parseSmartNicPfConfig(text);
    expect(mac).toBe('08:c0:eb:c4:2a:20');
    const t = buildPortTable(zero, new Map([['p0', { mac: mac ?? '' }]]));
    expect(t.pfs[0]).toMatchObject({ mac: '08:c0:eb:c4:2a:20', macSource: 'sysfs' });
    expect(
      netdev(
        find(t, { 'vif-plug:representor:pf-mac': '08:c0:eb:c4:2a:20', 'vif-plug:representor:vf-num': '1' }),
      ),
    ).toBe('pf0vf1');
  });

  it('without a fallback the PF is listed with the reason it has no MAC', () => {
    const t = buildPortTable(
      zero,
      new Map([['p0', { problem: '/sys/class/net/p0/smart_nic/pf/config is not readable (ENOENT)' }]]),
    );
    const answer = miss(find(t, { 'vif-plug:representor:pf-mac': '08:c0:eb:c4:2a:20' }));
    expect(answer.reason).toContain('no MAC (pf0hpf, controller 1');
    expect(answer.reason).toContain(
      'devlink reports no function hw_addr and /sys/class/net/p0/smart_nic/pf/config is not readable (ENOENT)',
    );
  });

  it('ignores sysfs files without a MAC line or with an all-zero MAC', () => {
    expect(parseSmartNicPfConfig('MaxTxRate  : 0\n')).toBeUndefined();
    expect(parseSmartNicPfConfig('MAC        : 00:00:00:00:00:00\n')).toBeUndefined();
  });
});

describe('formatNumberRanges', () => {
  it.each([
    [[0, 1, 2, 3], '0–3'],
    [[5, 0, 1, 7, 8, 2], '0–2, 5, 7–8'],
    [[4], '4'],
    [[], ''],
  ])('%j -> %s', (numbers, text) => {
    expect(formatNumberRanges(numbers)).toBe(text);
  });
});
