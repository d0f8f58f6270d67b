import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PlugAnswer, PlugRequest } from '../../plug/index.js';
import { FakeDevlinkSpawn } from '../../../test/fixtures/devlink/fake-devlink-spawn.js';
import { RepresentorProvider } from './provider.js';
import type { RepresentorProviderOptions } from './provider.js';

const fixture = (name: string): string =>
  fileURLToPath(new URL(`../../../test/fixtures/devlink/${name}`, import.meta.url));
const SYSFS_ROOT = fileURLToPath(new URL('../../../test/fixtures/sysfs/bluefield2', import.meta.url));
const BF_PF0 = '08:c0:eb:c4:2a:10';

const VF4_EVENT = (netdev: string | undefined): string =>
  JSON.stringify({
    command: 'new',
    port: {
      'pci/0000:03:00.0/196612': {
        type: netdev === undefined ? 'notset' : 'eth',
        ...(netdev === undefined ? {} : { netdev }),
        flavour: 'pcivf',
        controller: 1,
        pfnum: 0,
        vfnum: 4,
        external: true,
        splittable: false,
        function: { hw_addr: '00:00:00:00:00:00' },
      },
    },
  });

function request(options: Record<string, string>, extra: Partial<PlugRequest> = {}): PlugRequest {
  return {
    operation: 'create',
    logicalPort: 'lsp1',
    options: { 'vif-plug-type': 'representor', ...options },
    ...extra,
  };
}

const vf = (n: number, mac = BF_PF0): Record<string, string> => ({
  'vif-plug:representor:pf-mac': mac,
  'vif-plug:representor:vf-num': String(n),
});

function readyName(answer: PlugAnswer): string {
  if (answer.kind !== 'ready') throw new Error(`expected ready, got ${answer.code ?? ''}: ${answer.reason}`);
  return answer.name;
}

/** Lets queued process events, stream callbacks and promise continuations run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i += 1) await new Promise<void>((resolve) => process.nextTick(resolve));
}

const providers: RepresentorProvider[] = [];
function makeProvider(
  devlink: FakeDevlinkSpawn,
  options: RepresentorProviderOptions = {},
): RepresentorProvider {
  const provider = new RepresentorProvider({ spawn: devlink.spawn, sysfsRoot: SYSFS_ROOT, ...options });
  providers.push(provider);
  return provider;
}

afterEach(() => {
  for (const provider of providers.splice(0)) provider.destroy();
  vi.useRealTimers();
});

describe('RepresentorProvider: start-up', () => {
  it('runs the monitor first, then the dump, and answers from the table', async () => {
    const devlink = new FakeDevlinkSpawn(fixture('bluefield2-dpu.port-show.json'));
    const provider = makeProvider(devlink);
    await provider.init();
    expect(devlink.calls.map((c) => [c.command, ...c.args].join(' '))).toEqual([
      'devlink -j monitor port',
      'devlink -j port show',
    ]);
    expect(readyName(provider.prepare(request(vf(3))))).toBe('pf0vf3');
    expect(provider.prepare(request(vf(3)))).toEqual({ kind: 'ready', name: 'pf0vf3', options: {} });
    expect(provider.maintainedIfaceOptions()).toEqual(['dpdk-devargs']);
    expect(provider.run()).toBe(true);
    expect(provider.run()).toBe(false);
  });

  it('uses the configured devlink command', async () => {
    const devlink = new FakeDevlinkSpawn(fixture('bluefield2-dpu.port-show.json'));
    await makeProvider(devlink, { devlinkCommand: '/opt/iproute2/devlink' }).init();
    expect(new Set(devlink.calls.map((c) => c.command))).toEqual(new Set(['/opt/iproute2/devlink']));
  });

  it('devlink binary missing: init rejects naming the command and ENOENT, and nothing restarts', async () => {
    vi.useFakeTimers();
    const devlink = new FakeDevlinkSpawn();
    devlink.spawnError = 'ENOENT';
    const provider = makeProvider(devlink, { devlinkCommand: 'devlink-missing' });
    await expect(provider.init()).rejects.toThrow(
      /devlink is not usable here: cannot run "devlink-missing -j port show": .*ENOENT/,
    );
    const spawned = devlink.calls.length;
    await vi.advanceTimersByTimeAsync(120_000);
    expect(devlink.calls.length).toBe(spawned);
  });

  it("kernel without devlink (non-zero exit): init rejects with devlink's own message", async () => {
    const devlink = new FakeDevlinkSpawn();
    devlink.portShow = () => ({ code: 1, stderr: 'Failed to connect to devlink Netlink\n' });
    const provider = makeProvider(devlink);
    await expect(provider.init()).rejects.toThrow(
      'devlink is not usable here: "devlink -j port show" exited with 1: Failed to connect to devlink Netlink',
    );
    expect(devlink.lastMonitor.killedWith).toBe('SIGTERM');
  });

  it('a ConnectX host in switchdev mode (ovn-org/ovn#169) starts fine and explains every miss', async () => {
    const devlink = new FakeDevlinkSpawn(fixture('connectx6-host-switchdev.port-show.json'));
    const provider = makeProvider(devlink);
    await provider.init();
    const answer = provider.prepare(request(vf(4, '0c:42:a1:00:00:01')));
    expect(answer).toMatchObject({ kind: 'notNow', code: 'NoPfRepresentors' });
    const inventory = provider.inventory();
    expect(inventory.items.map((item) => [item.id, item.name, item.details['usable']])).toEqual([
      ['pci/0000:08:00.0/c0/pf0/vf0', 'enp8s0f0npf0vf0', false],
      ['pci/0000:08:00.0/c0/pf0/vf1', 'enp8s0f0npf0vf1', false],
      ['pci/0000:08:00.0/c0/pf0/vf2', 'enp8s0f0npf0vf2', false],
      ['pci/0000:08:00.0/c0/pf0/vf3', 'enp8s0f0npf0vf3', false],
    ]);
    expect(inventory.notes?.join('\n')).toContain('4 VF/SF ports have no host PF (pcipf) port');
  });

  it('malformed options are answered without touching devlink', async () => {
    const devlink = new FakeDevlinkSpawn(fixture('bluefield2-dpu.port-show.json'));
    const provider = makeProvider(devlink);
    await provider.init();
    const calls = devlink.calls.length;
    expect(provider.prepare(request({ 'vif-plug:representor:pf-mac': 'nope' }))).toMatchObject({
      kind: 'notNow',
      code: 'MalformedPfMac',
    });
    expect(devlink.calls.length).toBe(calls);
  });
});

describe('RepresentorProvider: the monitor keeps the table fresh', () => {
  it('a VF that appears later: provisional name refused, rename -> plugged; run() reports each change once', async () => {
    vi.useFakeTimers();
    const devlink = new FakeDevlinkSpawn(fixture('bluefield2-dpu.port-show.json'));
    const onChange = vi.fn();
    const provider = makeProvider(devlink, { onChange });
    await provider.init();
    provider.run();
    onChange.mockClear();
    expect(provider.prepare(request(vf(4)))).toMatchObject({ code: 'VfNotFound' });

    devlink.lastMonitor.emitOutput(`{"mon":[${VF4_EVENT('eth7')}`);
    await settle();
    expect(onChange).toHaveBeenCalled();
    expect(provider.run()).toBe(true);
    expect(provider.run()).toBe(false);
    expect(provider.prepare(request(vf(4)))).toMatchObject({ code: 'RenameInProgress' });

    devlink.lastMonitor.emitOutput(`,${VF4_EVENT('pf0vf4')}`);
    await settle();
    expect(provider.run()).toBe(true);
    expect(readyName(provider.prepare(request(vf(4))))).toBe('pf0vf4');
  });

  it('a provisional eth<N> name that never changes is plugged after the settle time', async () => {
    vi.useFakeTimers();
    const devlink = new FakeDevlinkSpawn(fixture('bluefield2-dpu.port-show.json'));
    const provider = makeProvider(devlink, { renameSettleMs: 5_000 });
    await provider.init();
    devlink.lastMonitor.emitOutput(`{"mon":[${VF4_EVENT('eth7')}`);
    await settle();
    provider.run();
    expect(provider.prepare(request(vf(4)))).toMatchObject({ code: 'RenameInProgress' });
    await vi.advanceTimersByTimeAsync(5_001);
    expect(provider.run()).toBe(true);
    expect(readyName(provider.prepare(request(vf(4))))).toBe('eth7');
  });

  it('replays the recorded BlueField hot-plug stream: add, rename, netdev gone, delete', async () => {
    const { readFileSync } = await import('node:fs');
    const devlink = new FakeDevlinkSpawn(fixture('bluefield2-dpu.port-show.json'));
    const provider = makeProvider(devlink);
    await provider.init();
    provider.run();
    devlink.lastMonitor.emitOutput(readFileSync(fixture('bluefield2-vf-hotplug.monitor.json'), 'utf8'));
    await settle();
    expect(provider.run()).toBe(true);
    expect(readyName(provider.prepare(request(vf(4))))).toBe('pf0vf4');
    const gone = provider.prepare(request(vf(3)));
    expect(gone).toMatchObject({ code: 'VfNotFound' });
    expect(gone.kind === 'notNow' ? gone.reason : '').toContain('(VFs 0–2, 4 known)');
  });

  it('events that arrive while the dump is in flight are replayed on top of it, in order', async () => {
    const devlink = new FakeDevlinkSpawn(fixture('bluefield2-dpu.port-show.json'));
    const servePorts = devlink.portShow;
    const vf3Gone = JSON.stringify({
      command: 'del',
      port: {
        'pci/0000:03:00.0/196611': { type: 'notset', flavour: 'pcivf', controller: 1, pfnum: 0, vfnum: 3 },
      },
    });
    devlink.portShow = () => {
      devlink.lastMonitor.emitOutput(`{"mon":[${VF4_EVENT('pf0vf4')},${vf3Gone}`);
      return servePorts();
    };
    const provider = makeProvider(devlink);
    await provider.init();
    expect(readyName(provider.prepare(request(vf(4))))).toBe('pf0vf4');
    expect(provider.prepare(request(vf(3)))).toMatchObject({ code: 'VfNotFound' });
  });

  it('a removal is answered with the existing interface even when its representor is gone', async () => {
    const devlink = new FakeDevlinkSpawn(fixture('bluefield2-dpu.port-show.json'));
    const provider = makeProvider(devlink);
    await provider.init();
    const answer = provider.prepare(
      request(vf(9), { operation: 'remove', existing: { name: 'pf0vf9', type: '', options: {} } }),
    );
    expect(answer).toEqual({ kind: 'ready', name: 'pf0vf9', options: {} });
  });

  it('events that change nothing do not make run() report a change', async () => {
    const devlink = new FakeDevlinkSpawn(fixture('bluefield2-dpu.port-show.json'));
    const provider = makeProvider(devlink);
    await provider.init();
    provider.run();
    const unchanged = JSON.stringify({
      command: 'new',
      port: {
        'pci/0000:03:00.0/196608': {
          type: 'eth',
          netdev: 'pf0vf0',
          flavour: 'pcivf',
          controller: 1,
          pfnum: 0,
          vfnum: 0,
          external: true,
          splittable: false,
          function: { hw_addr: '00:00:00:00:00:00' },
        },
      },
    });
    devlink.lastMonitor.emitOutput(`{"mon":[${unchanged}`);
    await settle();
    expect(provider.run()).toBe(false);
  });

  it('monitor dies -> restarted with doubling backoff, each restart followed by a fresh dump', async () => {
    vi.useFakeTimers();
    const devlink = new FakeDevlinkSpawn(fixture('bluefield2-dpu.port-show.json'));
    const provider = makeProvider(devlink, {
      backoff: { initialMs: 500, maxMs: 2_000, stableAfterMs: 10_000 },
    });
    await provider.init();
    provider.run();

    // The VF appears while no monitor is running: only the dump after the restart can see it.
    devlink.servePorts(fixture('bluefield2-dpu-sfs.port-show.json'));
    devlink.lastMonitor.exit(1, null, 'kernel answers: No buffer space available\n');
    await settle();
    expect(provider.inventory().notes?.join('\n')).toMatch(
      /devlink monitor stopped \(exited with 1: kernel answers: No buffer space available\); restarting in 500 ms/,
    );
    await vi.advanceTimersByTimeAsync(499);
    expect(devlink.monitors).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(devlink.monitors).toHaveLength(2);
    expect(devlink.countCalls('port show')).toBe(2);
    await settle();
    expect(provider.run()).toBe(true);
    expect(
      readyName(
        provider.prepare(
          request({ 'vif-plug:representor:pf-mac': BF_PF0, 'vif-plug:representor:sf-num': '88' }),
        ),
      ),
    ).toBe('en3f0c1pf0sf88');

    const delays: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      const before = devlink.monitors.length;
      devlink.lastMonitor.exit(1);
      await settle();
      let waited = 0;
      while (devlink.monitors.length === before) {
        await vi.advanceTimersByTimeAsync(100);
        waited += 100;
      }
      delays.push(waited);
      await settle();
    }
    expect(delays).toEqual([1_000, 2_000, 2_000, 2_000]);
    expect(provider.monitorRestarts).toBe(5);
  });

  it('a dump that fails after a restart stops that monitor too, and the next restart backs off further', async () => {
    vi.useFakeTimers();
    const devlink = new FakeDevlinkSpawn(fixture('bluefield2-dpu.port-show.json'));
    const provider = makeProvider(devlink, {
      backoff: { initialMs: 500, maxMs: 30_000, stableAfterMs: 10_000 },
    });
    await provider.init();
    provider.run();
    devlink.portShow = () => ({ code: 1, stderr: 'kernel answers: Resource temporarily unavailable\n' });
    devlink.lastMonitor.exit(1);
    await settle();
    await vi.advanceTimersByTimeAsync(500);
    expect(devlink.monitors).toHaveLength(2);
    await settle();
    expect(devlink.monitors[1]?.killedWith).toBe('SIGTERM');
    expect(provider.inventory().notes?.join('\n')).toContain('restarting in 1000 ms');
    expect(readyName(provider.prepare(request(vf(3))))).toBe('pf0vf3');
    devlink.servePorts(fixture('bluefield2-dpu-sfs.port-show.json'));
    await vi.advanceTimersByTimeAsync(1_000);
    await settle();
    expect(devlink.monitors).toHaveLength(3);
    expect(provider.run()).toBe(true);
    expect(provider.prepare(request(vf(3)))).toMatchObject({ code: 'VfNotFound' });
  });

  it('a monitor that ran long enough restarts from the initial delay again', async () => {
    vi.useFakeTimers();
    const devlink = new FakeDevlinkSpawn(fixture('bluefield2-dpu.port-show.json'));
    const provider = makeProvider(devlink, {
      backoff: { initialMs: 500, maxMs: 30_000, stableAfterMs: 10_000 },
    });
    await provider.init();
    devlink.lastMonitor.exit(1);
    await settle();
    await vi.advanceTimersByTimeAsync(500);
    devlink.lastMonitor.exit(1);
    await settle();
    expect(provider.inventory().notes?.join('\n')).toContain('restarting in 1000 ms');
    await vi.advanceTimersByTimeAsync(1_000);
    await vi.advanceTimersByTimeAsync(10_000);
    devlink.lastMonitor.exit(1);
    await settle();
    expect(provider.inventory().notes?.join('\n')).toContain('restarting in 500 ms');
  });

  it('destroy() stops the monitor and no restart follows', async () => {
    vi.useFakeTimers();
    const devlink = new FakeDevlinkSpawn(fixture('bluefield2-dpu.port-show.json'));
    const provider = makeProvider(devlink);
    await provider.init();
    const monitor = devlink.lastMonitor;
    provider.destroy();
    expect(monitor.killedWith).toBe('SIGTERM');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(devlink.monitors).toHaveLength(1);
  });
});

describe('RepresentorProvider: PF MAC from sysfs', () => {
  it('reads <sysfsRoot>/class/net/<uplink>/smart_nic/pf/config when devlink reports an all-zero hw_addr', async () => {
    const devlink = new FakeDevlinkSpawn(fixture('bluefield2-dpu-zero-pf-mac.port-show.json'));
    const provider = makeProvider(devlink);
    await provider.init();
    await settle();
    expect(readyName(provider.prepare(request(vf(1, '08:c0:eb:c4:2a:20'))))).toBe('pf0vf1');
    expect(provider.inventory().items[0]?.details).toMatchObject({
      pfMac: '08:c0:eb:c4:2a:20',
      macSource: 'sysfs',
    });
  });

  it('an unreadable sysfs file is named in the reason', async () => {
    const devlink = new FakeDevlinkSpawn(fixture('bluefield2-dpu-zero-pf-mac.port-show.json'));
    const provider = makeProvider(devlink, { sysfsRoot: '/nonexistent-sysfs' });
    await provider.init();
    await settle();
    const answer = provider.prepare(request(vf(1, '08:c0:eb:c4:2a:20')));
    expect(answer).toMatchObject({ code: 'PfNotFound' });
    expect(answer.kind === 'notNow' ? answer.reason : '').toContain(
      '/nonexistent-sysfs/class/net/p0/smart_nic/pf/config is not readable',
    );
  });
});

describe('RepresentorProvider: programming the logical port MAC on the host function', () => {
  const LSP_MAC = 'fa:16:3e:11:22:33';

  it('sets the VF hw_addr before plugging: ProgrammingMac until devlink finished, then ready', async () => {
    const devlink = new FakeDevlinkSpawn(fixture('bluefield2-dpu.port-show.json'));
    const provider = makeProvider(devlink);
    await provider.init();
    provider.run();
    const first = provider.prepare(request(vf(2), { mac: 'FA:16:3E:11:22:33' }));
    expect(first).toMatchObject({ kind: 'notNow', code: 'ProgrammingMac' });
    expect(first.kind === 'notNow' ? first.reason : '').toBe(
      `programming MAC "${LSP_MAC}" on VF 2 (devlink port pci/0000:03:00.0/196610)`,
    );
    expect(provider.prepare(request(vf(2), { mac: LSP_MAC }))).toMatchObject({ code: 'ProgrammingMac' });
    await settle();
    expect(devlink.calls.filter((c) => c.args[0] === 'port').map((c) => c.args.join(' '))).toEqual([
      `port function set pci/0000:03:00.0/196610 hw_addr ${LSP_MAC}`,
    ]);
    expect(provider.run()).toBe(true);
    expect(readyName(provider.prepare(request(vf(2), { mac: LSP_MAC })))).toBe('pf0vf2');
    expect(provider.inventory().items.find((i) => i.name === 'pf0vf2')?.details['hwAddr']).toBe(LSP_MAC);
  });

  it('never programs the PF (its MAC is the lookup key) and skips VFs that already have the MAC', async () => {
    const devlink = new FakeDevlinkSpawn(fixture('bluefield2-dpu.port-show.json'));
    const provider = makeProvider(devlink);
    await provider.init();
    expect(
      readyName(provider.prepare(request({ 'vif-plug:representor:pf-mac': BF_PF0 }, { mac: LSP_MAC }))),
    ).toBe('pf0hpf');
    expect(readyName(provider.prepare(request(vf(0), { mac: '00:00:00:00:00:00' })))).toBe('pf0vf0');
    expect(devlink.countCalls('port function')).toBe(0);
  });

  it('a device that cannot set MACs is reported, and the port is plugged anyway', async () => {
    const devlink = new FakeDevlinkSpawn(fixture('bluefield2-dpu.port-show.json'));
    devlink.functionSet = () => ({
      code: 1,
      stderr: 'Error: mlx5_core: Port function hw_addr set is not supported.\n',
    });
    const warnings: string[] = [];
    const logger = {
      debug: () => undefined,
      info: () => undefined,
      error: () => undefined,
      warn: (_: object, m?: string) => warnings.push(m ?? ''),
    };
    const provider = makeProvider(devlink, { logger });
    await provider.init();
    provider.run();
    expect(provider.prepare(request(vf(1), { mac: LSP_MAC }))).toMatchObject({ code: 'ProgrammingMac' });
    await settle();
    expect(provider.run()).toBe(true);
    expect(readyName(provider.prepare(request(vf(1), { mac: LSP_MAC })))).toBe('pf0vf1');
    expect(devlink.countCalls('port function')).toBe(1);
    expect(warnings).toContain('representor provider: device cannot program the MAC; plugging without it');
    expect(provider.inventory().notes?.join('\n')).toContain(
      'devlink port pci/0000:03:00.0/196609 cannot program MAC addresses: Error: mlx5_core: Port function hw_addr set is not supported.',
    );
  });

  it('any other failure keeps the port Pending with the error and retries with backoff', async () => {
    vi.useFakeTimers();
    const devlink = new FakeDevlinkSpawn(fixture('bluefield2-dpu.port-show.json'));
    devlink.functionSet = () => ({ code: 1, stderr: 'kernel answers: Device or resource busy\n' });
    const provider = makeProvider(devlink, { backoff: { initialMs: 1_000, maxMs: 30_000 } });
    await provider.init();
    provider.prepare(request(vf(1), { mac: LSP_MAC }));
    await settle();
    const failed = provider.prepare(request(vf(1), { mac: LSP_MAC }));
    expect(failed).toMatchObject({ kind: 'notNow', code: 'MacProgrammingFailed' });
    expect(failed.kind === 'notNow' ? failed.reason : '').toBe(
      `setting MAC "${LSP_MAC}" on VF 1 (devlink port pci/0000:03:00.0/196609) failed: ` +
        `"devlink port function set pci/0000:03:00.0/196609 hw_addr ${LSP_MAC}": kernel answers: Device or resource busy (retrying in 1 s)`,
    );
    expect(devlink.countCalls('port function')).toBe(1);
    provider.run();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(provider.run()).toBe(true);
    devlink.functionSet = () => ({ code: 0 });
    expect(provider.prepare(request(vf(1), { mac: LSP_MAC }))).toMatchObject({ code: 'ProgrammingMac' });
    await settle();
    expect(devlink.countCalls('port function')).toBe(2);
    expect(readyName(provider.prepare(request(vf(1), { mac: LSP_MAC })))).toBe('pf0vf1');
  });
});

describe('RepresentorProvider: inventory', () => {
  it('marks a representor without netdev as rename in progress, without a name', async () => {
    const devlink = new FakeDevlinkSpawn(fixture('netdevsim-vf3-no-netdev.port-show.json'));
    const provider = makeProvider(devlink);
    await provider.init();
    const vf3 = provider.inventory().items.find((item) => item.id === 'netdevsim/netdevsim10/c0/pf0/vf3');
    expect(vf3).toEqual({
      id: 'netdevsim/netdevsim10/c0/pf0/vf3',
      details: {
        flavour: 'pcivf',
        pfMac: '00:53:00:00:00:42',
        controller: 0,
        vfNum: 3,
        devlinkPort: 'netdevsim/netdevsim10/14',
        renameInProgress: true,
      },
    });
  });

  it('lists each PF (MAC, controller, netdev) with its VFs and SFs', async () => {
    const devlink = new FakeDevlinkSpawn(fixture('bluefield2-dpu-sfs.port-show.json'));
    const provider = makeProvider(devlink);
    await provider.init();
    const { items, notes } = provider.inventory();
    expect(items.map((item) => [item.id, item.name])).toEqual([
      ['pci/0000:03:00.0/c1/pf0', 'pf0hpf'],
      ['pci/0000:03:00.0/c1/pf0/vf0', 'pf0vf0'],
      ['pci/0000:03:00.0/c1/pf0/sf88', 'en3f0c1pf0sf88'],
      ['pci/0000:03:00.0/c1/pf0/sf89', 'en3f0c1pf0sf89'],
    ]);
    expect(items[0]?.details).toEqual({
      flavour: 'pcipf',
      pfMac: BF_PF0,
      macSource: 'devlink',
      controller: 1,
      pfNum: 0,
      device: 'pci/0000:03:00.0',
      external: true,
      devlinkPort: 'pci/0000:03:00.0/196607',
    });
    expect(items[1]?.details).toEqual({
      flavour: 'pcivf',
      pfMac: BF_PF0,
      controller: 1,
      vfNum: 0,
      devlinkPort: 'pci/0000:03:00.0/196608',
    });
    expect(items[2]?.details).toEqual({
      flavour: 'pcisf',
      pfMac: BF_PF0,
      controller: 1,
      sfNum: 88,
      hwAddr: '00:00:00:00:88:88',
      state: 'active',
      opstate: 'attached',
      devlinkPort: 'pci/0000:03:00.0/229464',
    });
    expect(notes).toEqual([]);
  });
});
