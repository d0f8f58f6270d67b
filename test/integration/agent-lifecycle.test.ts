/**
 * The agent's life cycle against a real sandbox (unmodified ovn-controller): restarts without
 * churn, a Southbound DB that is unreachable at start, an emptied Southbound DB (mass-removal
 * guard, DESIGN §3.4), and the real CLI as a child process with SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommandLine, startAgent, type AgentHandle, type Config } from '../../src/agent/index.js';
import {
  asStringMap,
  lspAdd,
  pickFreePort,
  startSandbox,
  waitPortBindingUp,
  waitUntil,
  type CtlRow,
  type Sandbox,
} from '../harness/index.js';

let sandbox: Sandbox;
const running: AgentHandle[] = [];
/** `ovsdb-client backup` of the SB before any port was created: Chassis hv1, no port bindings. */
let emptyBackup: string;

beforeAll(async () => {
  sandbox = await startSandbox({ chassis: ['hv1'] });
  const sb = sandbox.central.sb;
  if (sb === undefined) throw new Error('standalone SB expected');
  emptyBackup = await sb.backup();
}, 60_000);

afterAll(async () => {
  for (const agent of running) await agent.stop();
  await sandbox?.stop();
});

function configWith(extra: string[] = []): Config {
  const parsed = parseCommandLine(
    [
      `--ovs-db=${sandbox.node('hv1').ovs.dbRemote}`,
      '--providers=dummy',
      '--listen=127.0.0.1:0',
      '--log-level=silent',
      ...(extra.some((a) => a.startsWith('--resync-interval')) ? [] : ['--resync-interval=2s']),
      ...extra,
    ],
    {},
  );
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return parsed.config;
}

async function start(extra: string[] = []): Promise<AgentHandle> {
  const agent = await startAgent(configWith(extra), { backoff: { minMs: 200, maxMs: 500 } });
  running.push(agent);
  return agent;
}

async function stop(agent: AgentHandle): Promise<void> {
  await agent.stop();
  running.splice(running.indexOf(agent), 1);
}

async function ifaces(): Promise<CtlRow[]> {
  return sandbox.node('hv1').ovs.interfaces();
}

/** `logical port -> Interface UUID` of every interface carrying an iface-id on hv1. */
async function uuidsByPort(): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  for (const row of await ifaces()) {
    const id = asStringMap(row['external_ids'])['iface-id'];
    if (id !== undefined) out.set(id, row['_uuid']);
  }
  return out;
}

function waitAllBound(agent: AgentHandle, ports: readonly string[]): Promise<true> {
  return waitUntil(
    () => {
      const status = agent.status();
      return (
        ports.every((name) => status.ports.find((p) => p.logicalPort === name)?.state === 'Bound') ||
        undefined
      );
    },
    { description: `${ports.join(', ')} Bound`, timeoutMs: 20_000, maxIntervalMs: 100 },
  );
}

const PORTS = ['lc1', 'lc2', 'lc3', 'lc4'];

describe('agent life cycle', () => {
  it('plugs a few ports to start with', async () => {
    const agent = await start();
    for (const [i, name] of PORTS.entries()) {
      await lspAdd(sandbox.central, name, {
        options: { 'requested-chassis': 'hv1', 'vif-plug-type': 'dummy' },
      });
      await sandbox.central.nbctl('lsp-set-addresses', name, `f0:00:00:00:01:0${i} 10.0.1.${i + 10}`);
    }
    for (const name of PORTS) await waitPortBindingUp(sandbox.central, name);
    await waitAllBound(agent, PORTS);
    await stop(agent);
  });

  it('becomes ready without waiting for the resync timer', async () => {
    const agent = await start(['--resync-interval=10m']);
    await waitUntil(async () => (await fetch(`${agent.url ?? ''}/readyz`)).status === 200, {
      description: '/readyz 200',
      timeoutMs: 5_000,
    });
    expect(agent.status()).toMatchObject({
      sb: { synced: true, state: 'monitoring' },
      ovs: { synced: true },
    });
    await waitAllBound(agent, PORTS);
    await stop(agent);
  });

  it('a restart causes no churn: same interface UUIDs, no transaction, nothing unplugged', async () => {
    const before = await uuidsByPort();
    const agent = await start();
    await waitUntil(() => agent.status().sb.synced && agent.status().ovs.synced, {
      description: 'both replicas synced',
    });
    await waitAllBound(agent, PORTS);
    // Several rounds (resync timer 2 s) without a write.
    await new Promise((r) => setTimeout(r, 2500));
    expect(agent.reconciler.stats.transactions).toBe(0);
    expect(agent.reconciler.stats.rounds).toBeGreaterThan(1);
    expect(await uuidsByPort()).toEqual(before);
    await stop(agent);
  });

  it('holds a stale interface of ours found at start for the grace, then removes it (E20; DESIGN §3.4 case 5)', async () => {
    await sandbox
      .node('hv1')
      .ovs.vsctl(
        'add-port',
        'br-int',
        'stale20',
        '--',
        'set',
        'Interface',
        'stale20',
        'type=internal',
        'external-ids:ovn-plug-agent=dummy',
        'external-ids:iface-id=gone20',
      );
    // A deletion made while the agent was down cannot be told from an emptied SB: held at start.
    const agent = await start(['--mass-removal-grace=3s']);
    const held = await waitUntil(
      () => agent.status().ports.find((p) => p.logicalPort === 'gone20' && p.reason === 'RemovalHeld'),
      { description: 'gone20 held' },
    );
    expect(held.message).toContain('agent start');
    expect((await ifaces()).some((r) => r['name'] === 'stale20')).toBe(true);
    await waitUntil(async () => !(await ifaces()).some((r) => r['name'] === 'stale20'), {
      description: 'stale20 removed after the grace',
      timeoutMs: 15_000,
    });
    expect([...(await uuidsByPort()).keys()].sort()).toEqual(PORTS);
    await stop(agent);
  });

  it('with the Southbound DB unreachable at start it unplugs nothing, and converges once it is back', async () => {
    const before = await uuidsByPort();
    const sbServer = sandbox.central.sb;
    if (sbServer === undefined) throw new Error('standalone SB expected');
    await sbServer.process.stop();
    let agent: AgentHandle | undefined;
    try {
      // Meanwhile a stale port of ours appears; it must wait for the SB like everything else.
      await sandbox
        .node('hv1')
        .ovs.vsctl(
          'add-port',
          'br-int',
          'stale21',
          '--',
          'set',
          'Interface',
          'stale21',
          'type=internal',
          'external-ids:ovn-plug-agent=dummy',
          'external-ids:iface-id=gone21',
        );
      // Found at start (DESIGN §3.4 case 5): removed only after the grace, shortened here.
      agent = await start(['--mass-removal-grace=3s']);
      await waitUntil(() => agent?.status().ovs.synced, { description: 'OVS replica synced' });
      await new Promise((r) => setTimeout(r, 1500));
      const status = agent.status();
      expect(status.sb.synced).toBe(false);
      expect(agent.reconciler.stats.transactions).toBe(0);
      expect(status.ports.find((p) => p.logicalPort === 'lc1')).toMatchObject({ reason: 'AwaitingSync' });
      expect((await fetch(`${agent.url ?? ''}/readyz`)).status).toBe(503);
      const after = await uuidsByPort();
      for (const [port, uuid] of before) expect(after.get(port)).toBe(uuid);
      expect(after.has('gone21')).toBe(true);
    } finally {
      await sbServer.restart();
    }
    if (agent === undefined) throw new Error('agent did not start');
    const started = agent;
    await waitUntil(() => started.status().sb.synced, {
      description: 'SB synced after it came back',
      timeoutMs: 20_000,
    });
    await waitUntil(async () => !(await uuidsByPort()).has('gone21'), {
      description: 'stale21 removed after the SB came back and the grace passed',
      timeoutMs: 20_000,
    });
    await waitAllBound(started, PORTS);
    const after = await uuidsByPort();
    for (const [port, uuid] of before) expect(after.get(port)).toBe(uuid);
    expect((await fetch(`${started.url ?? ''}/readyz`)).status).toBe(200);
    await stop(started);
  });

  it('survives an OVS ovsdb-server restart and an ovs-vswitchd restart without churn', async () => {
    const agent = await start();
    await waitAllBound(agent, PORTS);
    const before = await uuidsByPort();
    const ovs = sandbox.node('hv1').ovs;
    await ovs.ovsdb.restart();
    await waitUntil(() => agent.status().ovs.reconnects >= 1 && agent.status().ovs.synced, {
      description: 'OVS replica back',
      timeoutMs: 20_000,
    });
    await ovs.restartVswitchd();
    await waitAllBound(agent, PORTS);
    expect(await uuidsByPort()).toEqual(before);
    expect(agent.reconciler.stats.transactions).toBe(0);
    await stop(agent);
  });

  it('an agent stopped with a transaction in flight leaves no duplicate behind (upstream §2.3, stop mid-transaction)', async () => {
    const ovsdb = sandbox.node('hv1').ovs.ovsdb;
    const agent = await start();
    await waitAllBound(agent, PORTS);
    ovsdb.pause();
    try {
      await lspAdd(sandbox.central, 'mid1', {
        options: { 'requested-chassis': 'hv1', 'vif-plug-type': 'dummy' },
      });
      await waitUntil(
        () => agent.status().ports.find((p) => p.logicalPort === 'mid1')?.state === 'Plugging',
        { description: 'mid1 Plugging' },
      );
      await stop(agent);
    } finally {
      ovsdb.resume();
    }
    const next = await start();
    await waitAllBound(next, [...PORTS, 'mid1']);
    const rows = (await ifaces()).filter((r) => asStringMap(r['external_ids'])['iface-id'] === 'mid1');
    expect(rows).toHaveLength(1);
    await sandbox.central.nbctlWaitSb('lsp-del', 'mid1');
    await waitUntil(async () => !(await uuidsByPort()).has('mid1'), { description: 'mid1 unplugged' });
    await stop(next);
  });

  /**
   * Asserts that every port is held (not removed) while ovn-northd is paused after `lose` made the
   * SB forget the port bindings, then that ovn-northd's refill clears the hold with no churn.
   */
  async function heldUntilRefilled(agent: AgentHandle, cause: RegExp, lose: () => Promise<void>) {
    await waitAllBound(agent, PORTS);
    const before = await uuidsByPort();
    const transactions = agent.reconciler.stats.transactions;
    sandbox.central.northd.pause();
    try {
      await lose();
      const held = await waitUntil(() => agent.status().heldRemovals, {
        description: 'removal held',
        timeoutMs: 20_000,
      });
      expect(held.count).toBe(PORTS.length);
      expect(held.untilMs).toBeGreaterThan(Date.now() + 45_000);
      const lc1 = agent.status().ports.find((p) => p.logicalPort === 'lc1');
      expect(lc1).toMatchObject({ reason: 'RemovalHeld' });
      expect(lc1?.message).toMatch(cause);
      const metrics = await (await fetch(`${agent.url ?? ''}/metrics`)).text();
      expect(metrics).toContain(`ovn_plug_removals_held ${PORTS.length}`);
      await new Promise((r) => setTimeout(r, 1500));
      expect(await uuidsByPort()).toEqual(before);
      expect(agent.reconciler.stats.transactions).toBe(transactions);
    } finally {
      sandbox.central.northd.resume();
    }
    // ovn-northd refills the SB: the hold clears and nothing was unplugged.
    await sandbox.central.nbctlWaitSb('sync');
    await waitUntil(() => agent.status().heldRemovals === undefined, {
      description: 'hold cleared',
      timeoutMs: 20_000,
    });
    await waitAllBound(agent, PORTS);
    expect(await uuidsByPort()).toEqual(before);
  }

  it('an SB restarted on an emptied DB file holds every removal for the grace; ports stay plugged (DESIGN §3.4 case 2)', async () => {
    const sb = sandbox.central.sb;
    if (sb === undefined) throw new Error('standalone SB expected');
    const agent = await start();
    await heldUntilRefilled(agent, /reconnect or resync/, async () => {
      // An operator replaces the DB file by an old copy (row UUIDs kept) and restarts the server.
      await sb.process.stop();
      await sb.restoreFile(emptyBackup);
      await sb.process.start();
    });
    await stop(agent);
  });

  it('an old SB backup restored with ovsdb-client restore holds every removal for the grace (DESIGN §3.4 cases 2, 3)', async () => {
    const sb = sandbox.central.sb;
    if (sb === undefined) throw new Error('standalone SB expected');
    const agent = await start();
    // One transaction replaces every row, our Chassis row too (new UUID): a new monitor condition.
    await heldUntilRefilled(agent, /identity|reconnect or resync/, () => sb.restore(emptyBackup));
    await stop(agent);
  });

  it('within a session, the CMS deleting all ports of a small node unplugs them at once at default flags (DESIGN §3.4 case 1)', async () => {
    const agent = await start();
    for (const name of ['tmp1', 'tmp2']) {
      await lspAdd(sandbox.central, name, {
        options: { 'requested-chassis': 'hv1', 'vif-plug-type': 'dummy' },
      });
    }
    await waitAllBound(agent, [...PORTS, 'tmp1', 'tmp2']);
    // 2 of 6 owned ports, then a stale interface of ours appearing through OVS (case 4).
    const deleted = Date.now();
    await sandbox.central.nbctl('lsp-del', 'tmp1', '--', 'lsp-del', 'tmp2');
    await waitUntil(async () => !(await uuidsByPort()).has('tmp1') && !(await uuidsByPort()).has('tmp2'), {
      description: 'tmp1, tmp2 unplugged at once',
      timeoutMs: 5_000,
      maxIntervalMs: 50,
    });
    expect(Date.now() - deleted).toBeLessThan(3_000);
    await sandbox
      .node('hv1')
      .ovs.vsctl(
        'add-port',
        'br-int',
        'stale22',
        '--',
        'set',
        'Interface',
        'stale22',
        'type=internal',
        'external-ids:ovn-plug-agent=dummy',
        'external-ids:iface-id=gone22',
      );
    await waitUntil(async () => !(await ifaces()).some((r) => r['name'] === 'stale22'), {
      description: 'stale22 removed at once (case 4)',
      timeoutMs: 5_000,
    });
    expect(agent.status().heldRemovals).toBeUndefined();
    await stop(agent);
  });

  it('a mass removal within a session (above the share and the minimum) is held, then goes after the grace', async () => {
    const agent = await start([
      '--mass-removal-grace=1500ms',
      '--mass-removal-share=0.25',
      '--mass-removal-min-ports=2',
    ]);
    await waitAllBound(agent, PORTS);
    await sandbox.central.nbctlWaitSb('lsp-del', 'lc3', '--', 'lsp-del', 'lc4');
    const held = await waitUntil(() => agent.status().heldRemovals, { description: 'removal held' });
    expect(held.count).toBe(2);
    expect((await uuidsByPort()).has('lc3')).toBe(true);
    await waitUntil(async () => !(await uuidsByPort()).has('lc3') && !(await uuidsByPort()).has('lc4'), {
      description: 'lc3, lc4 removed after the grace period',
      timeoutMs: 10_000,
    });
    expect(agent.status().heldRemovals).toBeUndefined();
    expect([...(await uuidsByPort()).keys()].sort()).toEqual(['lc1', 'lc2']);
    await stop(agent);
  });
});

describe('providers from --provider-module', () => {
  it('plugs with a provider loaded from an ES module, and reports every problem of a bad module', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'g-provmod-'));
    try {
      const good = join(dir, 'good.mjs');
      await writeFile(
        good,
        `export default { type: 'modprov', maintainedIfaceOptions: () => [], prepare: (r) => ({ kind: 'ready', name: 'm-' + r.logicalPort, type: 'internal', options: {} }) };\n`,
      );
      const bad = join(dir, 'bad.mjs');
      await writeFile(
        bad,
        `export const broken = { type: '', prepare: 42, maintainedIfaceOptions: () => [] };\n`,
      );
      await expect(startAgent(configWith([`--provider-module=${bad}`]))).rejects.toThrow(
        /bad\.mjs \(export broken\)/,
      );

      const agent = await start([`--provider-module=${good}`]);
      expect(agent.status().providers.map((p) => p.type)).toEqual(['dummy', 'modprov']);
      await lspAdd(sandbox.central, 'mod1', {
        options: { 'requested-chassis': 'hv1', 'vif-plug-type': 'modprov' },
      });
      await waitUntil(async () => (await ifaces()).some((r) => r['name'] === 'm-mod1'), {
        description: 'm-mod1 plugged',
      });
      await waitAllBound(agent, ['mod1']);
      await sandbox.central.nbctlWaitSb('lsp-del', 'mod1');
      await waitUntil(async () => !(await ifaces()).some((r) => r['name'] === 'm-mod1'), {
        description: 'm-mod1 unplugged',
      });
      await stop(agent);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the ovn-plug-agent command', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGKILL');
  });

  function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const p = spawn(process.execPath, ['--import', 'tsx', 'src/agent/cli.ts', ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      p.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
  }

  it('runs as a process, serves status to `ovn-plug-agent status`, and leaves ports plugged on SIGTERM', async () => {
    const port = await pickFreePort();
    const listen = `--listen=127.0.0.1:${port}`;
    const proc = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/agent/cli.ts',
        `--ovs-db=${sandbox.node('hv1').ovs.dbRemote}`,
        '--providers=dummy',
        listen,
        '--log-level=info',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child = proc;
    let logs = '';
    proc.stdout?.on('data', (d: Buffer) => (logs += d.toString()));
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    await waitUntil(
      async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200,
      {
        description: 'agent process ready',
        timeoutMs: 30_000,
        maxIntervalMs: 200,
      },
    );
    await lspAdd(sandbox.central, 'cli1', {
      options: { 'requested-chassis': 'hv1', 'vif-plug-type': 'dummy' },
    });
    await waitPortBindingUp(sandbox.central, 'cli1');
    await waitUntil(async () => (await runCli(['status', listen])).stdout.match(/^cli1\s+Bound\s/m), {
      description: 'cli1 Bound in `status`',
      timeoutMs: 20_000,
      maxIntervalMs: 300,
    });
    const table = (await runCli(['status', listen])).stdout;
    expect(table).toContain('chassis: hv1   bridge: br-int');
    expect(table).toMatch(/^LOGICAL PORT\s+STATE\s+REASON/m);
    const json = JSON.parse((await runCli(['status', listen, '--json'])).stdout) as {
      ports: { logicalPort: string }[];
    };
    expect(json.ports.map((p) => p.logicalPort)).toContain('cli1');
    const providers = await runCli(['providers', listen]);
    expect(providers.stdout).toContain('dummy: available');

    const before = await uuidsByPort();
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(await uuidsByPort()).toEqual(before);
    const lines = logs
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { msg: string; logicalPort?: string });
    expect(lines.some((l) => l.msg === 'plugged port' && l.logicalPort === 'cli1')).toBe(true);
    expect(lines.some((l) => l.msg === 'stopping; plugged ports stay as they are')).toBe(true);
  });

  it('reports every invalid flag at once and exits 2', async () => {
    const result = await runCli(['--ovs-db=nope', '--mass-removal-share=7', '--listen=x']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--ovs-db: expected unix:PATH');
    expect(result.stderr).toContain('--mass-removal-share: "7"');
    expect(result.stderr).toContain('--listen: "x" is not HOST:PORT');
  });

  it('`status` names the address when no agent listens there', async () => {
    const port = await pickFreePort();
    const result = await runCli(['status', `--listen=127.0.0.1:${port}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`cannot reach the agent at http://127.0.0.1:${port}/status`);
  });
});
