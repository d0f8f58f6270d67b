/**
 * The representor provider driving real child processes: the fake devlink script (the one the
 * agent's end-to-end tests use) and, where installed, iproute2's real `devlink`. An integration
 * test: it waits for real processes in real time (moved out of the unit pass, docs/adr/0107).
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PlugRequest } from '../../src/plug/provider.js';
import type { SpawnProcess } from '../../src/providers/representor/process.js';
import { spawnProcess } from '../../src/providers/representor/process.js';
import { RepresentorProvider } from '../../src/providers/representor/provider.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/devlink/', import.meta.url));
const FAKE_DEVLINK = join(FIXTURES, 'fake-devlink.js');
const BF_PF0 = '08:c0:eb:c4:2a:10';

function request(vfNum: number, mac?: string): PlugRequest {
  const options = { 'vif-plug:representor:pf-mac': BF_PF0, 'vif-plug:representor:vf-num': String(vfNum) };
  return mac === undefined
    ? { operation: 'create', logicalPort: 'lsp1', options }
    : { operation: 'create', logicalPort: 'lsp1', options, mac };
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

let dir: string;
let provider: RepresentorProvider | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'representor-'));
});

afterEach(() => {
  provider?.destroy();
  provider = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the fake devlink with the environment a test controls (the provider passes no env). */
function fakeDevlinkSpawn(env: Record<string, string>): SpawnProcess {
  return (command, args) => {
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      return spawnProcess(command, args);
    } finally {
      for (const key of Object.keys(env)) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    }
  };
}

describe('RepresentorProvider with the fake devlink executable', () => {
  it('plugs a VF that appears later through the monitor stream, and programs its MAC', async () => {
    const ports = join(dir, 'ports.json');
    const events = join(dir, 'events.ndjson');
    const log = join(dir, 'calls.ndjson');
    copyFileSync(join(FIXTURES, 'bluefield2-dpu.port-show.json'), ports);
    let changes = 0;
    provider = new RepresentorProvider({
      devlinkCommand: FAKE_DEVLINK,
      spawn: fakeDevlinkSpawn({
        FAKE_DEVLINK_PORTS: ports,
        FAKE_DEVLINK_EVENTS: events,
        FAKE_DEVLINK_LOG: log,
      }),
      onChange: () => (changes += 1),
    });
    await provider.init();
    provider.run();
    expect(provider.prepare(request(4))).toMatchObject({ code: 'VfNotFound' });

    const started = Date.now();
    for (const line of readFileSync(join(FIXTURES, 'bluefield2-vf-hotplug.events.ndjson'), 'utf8')
      .split('\n')
      .slice(0, 2)) {
      appendFileSync(events, `${line}\n`);
    }
    const name = await waitFor('VF 4 to be plugged', () => {
      const answer = provider?.prepare(request(4));
      return answer?.kind === 'ready' ? answer.name : undefined;
    });
    expect(name).toBe('pf0vf4');
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(changes).toBeGreaterThan(0);
    expect(provider.run()).toBe(true);

    expect(provider.prepare(request(4, 'fa:16:3e:00:00:04'))).toMatchObject({ code: 'ProgrammingMac' });
    const programmed = await waitFor('the MAC to be programmed', () => {
      const answer = provider?.prepare(request(4, 'fa:16:3e:00:00:04'));
      return answer?.kind === 'ready' ? answer.name : undefined;
    });
    expect(programmed).toBe('pf0vf4');
    const calls = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as string[]);
    expect(calls.map((args) => args.join(' '))).toContain(
      'port function set pci/0000:03:00.0/196612 hw_addr fa:16:3e:00:00:04',
    );
  });

  it('restarts a monitor that exits, and sees what changed meanwhile through a fresh dump', async () => {
    const ports = join(dir, 'ports.json');
    const events = join(dir, 'events.ndjson');
    copyFileSync(join(FIXTURES, 'bluefield2-dpu.port-show.json'), ports);
    writeFileSync(events, '');
    provider = new RepresentorProvider({
      devlinkCommand: FAKE_DEVLINK,
      spawn: fakeDevlinkSpawn({
        FAKE_DEVLINK_PORTS: ports,
        FAKE_DEVLINK_EVENTS: events,
        FAKE_DEVLINK_MONITOR_EXIT_AFTER: '1',
      }),
      backoff: { initialMs: 50, maxMs: 200 },
    });
    await provider.init();
    copyFileSync(join(FIXTURES, 'bluefield2-dpu-sfs.port-show.json'), ports);
    // One event makes the monitor exit; the SFs are only in the ports file, i.e. the next dump.
    appendFileSync(
      events,
      `${readFileSync(join(FIXTURES, 'bluefield2-vf-hotplug.events.ndjson'), 'utf8').split('\n')[0] ?? ''}\n`,
    );
    await waitFor('the monitor restart', () => ((provider?.monitorRestarts ?? 0) >= 1 ? true : undefined));
    const sf = await waitFor('SF 88 from the fresh dump', () => {
      const answer = provider?.prepare({
        operation: 'create',
        logicalPort: 'lsp2',
        options: { 'vif-plug:representor:pf-mac': BF_PF0, 'vif-plug:representor:sf-num': '88' },
      });
      return answer?.kind === 'ready' ? answer.name : undefined;
    });
    expect(sf).toBe('en3f0c1pf0sf88');
  });

  it('a kernel without devlink makes init fail with the reason devlink gives', async () => {
    provider = new RepresentorProvider({
      devlinkCommand: FAKE_DEVLINK,
      spawn: fakeDevlinkSpawn({ FAKE_DEVLINK_FAIL: 'no-kernel' }),
    });
    await expect(provider.init()).rejects.toThrow(
      `devlink is not usable here: "${FAKE_DEVLINK} -j port show" exited with 1: Failed to connect to devlink Netlink`,
    );
  });
});

describe('RepresentorProvider with real commands', () => {
  it('a devlink command that does not exist: init rejects with ENOENT', async () => {
    provider = new RepresentorProvider({ devlinkCommand: join(dir, 'no-such-devlink') });
    await expect(provider.init()).rejects.toThrow(
      /devlink is not usable here: cannot run ".*no-such-devlink -j port show": .*ENOENT/,
    );
  });

  const real = spawnSync('devlink', ['-j', 'port', 'show'], { encoding: 'utf8' });
  const realAvailable = real.error === undefined;

  it.runIf(realAvailable)(
    "iproute2's devlink on this machine: init agrees with what the binary reports",
    async () => {
      provider = new RepresentorProvider();
      if (real.status === 0) {
        await provider.init();
        expect(provider.inventory().items.length).toBeGreaterThanOrEqual(0);
      } else {
        const message = real.stderr.trim().split('\n').pop() ?? '';
        expect(message).not.toBe('');
        await expect(provider.init()).rejects.toThrow(
          `"devlink -j port show" exited with ${real.status ?? ''}: ${message}`,
        );
      }
    },
  );
});
