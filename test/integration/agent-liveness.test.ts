/**
 * Liveness means progress (DESIGN §5, ADR 0106), end to end: the real agent in-process against a
 * real sandbox (OVN central, ovs-vswitchd, ovn-controller), asked over its HTTP endpoint.
 *
 * (a) The wedge: a FAKE provider (test/fixtures/providers/fake-wedge-provider.js, loaded with
 *     `--provider-module`) whose `run()` never settles. `/healthz` fails once the bound has passed
 *     with no progress on that call — not before — and says which work is pending since when;
 *     `/readyz` stays ok (the databases are fine). A short `--liveness-stall` keeps this quick.
 * (b) A SIGSTOPped OVS ovsdb-server, with a plug sent to it, held longer than the default bound:
 *     `/readyz` fails and `/status` reports since when the OVS DB does not answer, `/healthz` stays
 *     ok throughout; SIGCONT recovers.
 * (c) An unreachable Southbound DB (its remote pointed at a closed port through
 *     `external_ids:ovn-remote`, which the agent follows live), held longer than the default bound:
 *     `/readyz` fails, `/healthz` stays ok; restoring the remote recovers.
 * (b) and (c) run at the default liveness flags.
 */
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommandLine, startAgent, type AgentHandle, type AgentStatus } from '../../src/agent/index.js';
import { DEFAULT_LIVENESS_STALL_MS } from '../../src/agent/liveness.js';
import { lspAdd, pickFreePort, startSandbox, waitUntil, type Sandbox } from '../harness/index.js';

const FIXTURE = resolve(import.meta.dirname, '../fixtures/providers/fake-wedge-provider.js');
const SHORT_STALL_MS = 8_000;

let sandbox: Sandbox;
let dir: string;
let controlPath: string;
let callLogPath: string;
let modulePath: string;
const agents: AgentHandle[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'f-live-'));
  controlPath = join(dir, 'control.json');
  callLogPath = join(dir, 'fake-wedge.calls');
  await setRunMode('ok');
  await writeFile(callLogPath, '');
  modulePath = join(dir, 'fake-wedge.mjs');
  await writeFile(
    modulePath,
    `import { createFakeWedgeProvider } from ${JSON.stringify(FIXTURE)};\n` +
      `export default createFakeWedgeProvider(${JSON.stringify(controlPath)}, ${JSON.stringify(callLogPath)});\n`,
  );
  sandbox = await startSandbox({ chassis: ['hv1'] });
}, 120_000);

afterAll(async () => {
  await setRunMode('ok').catch(() => undefined);
  sandbox?.node('hv1').ovs.ovsdb.resume();
  for (const agent of agents) await agent.stop();
  await sandbox?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

async function setRunMode(mode: 'ok' | 'wedge'): Promise<void> {
  await writeFile(`${controlPath}.tmp`, JSON.stringify({ run: mode }));
  await rename(`${controlPath}.tmp`, controlPath);
}

async function startTestAgent(extra: readonly string[]): Promise<AgentHandle> {
  const parsed = parseCommandLine(
    [
      `--ovs-db=${sandbox.node('hv1').ovs.dbRemote}`,
      '--providers=dummy',
      `--provider-module=${modulePath}`,
      '--listen=127.0.0.1:0',
      '--log-level=silent',
      ...extra,
    ],
    {},
  );
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  const agent = await startAgent(parsed.config);
  agents.push(agent);
  return agent;
}

async function stopAgent(agent: AgentHandle): Promise<void> {
  await agent.stop();
  agents.splice(agents.indexOf(agent), 1);
}

interface Answer {
  readonly code: number;
  readonly body: string;
}

async function get(agent: AgentHandle, path: string): Promise<Answer> {
  const res = await fetch(`${agent.url ?? ''}${path}`, { signal: AbortSignal.timeout(15_000) });
  return { code: res.status, body: await res.text() };
}

async function waitCode(agent: AgentHandle, path: string, code: number, timeoutMs: number): Promise<Answer> {
  return waitUntil(
    async () => {
      const answer = await get(agent, path);
      return answer.code === code ? answer : undefined;
    },
    { description: `${path} answers ${code}`, timeoutMs, maxIntervalMs: 250 },
  );
}

function waitBound(agent: AgentHandle, name: string, timeoutMs: number): Promise<unknown> {
  return waitUntil(() => agent.status().ports.find((p) => p.logicalPort === name && p.state === 'Bound'), {
    description: `${name} Bound`,
    timeoutMs,
    maxIntervalMs: 100,
  });
}

async function addPort(name: string, plugType: string): Promise<void> {
  await lspAdd(sandbox.central, name, { options: { 'requested-chassis': 'hv1', 'vif-plug-type': plugType } });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Samples `/healthz` and `/readyz` about once a second until `untilMs` (ms since epoch). */
async function sample(
  agent: AgentHandle,
  untilMs: number,
): Promise<{ atMs: number; health: Answer; ready: Answer; status: AgentStatus }[]> {
  const samples: { atMs: number; health: Answer; ready: Answer; status: AgentStatus }[] = [];
  while (Date.now() < untilMs) {
    const atMs = Date.now();
    const [health, ready, status] = await Promise.all([
      get(agent, '/healthz'),
      get(agent, '/readyz'),
      get(agent, '/status'),
    ]);
    samples.push({ atMs, health, ready, status: JSON.parse(status.body) as AgentStatus });
    await sleep(1_000);
  }
  return samples;
}

describe('liveness means progress (real sandbox)', () => {
  it('(a) a FAKE provider whose run() never settles: /healthz fails within the bound and says why; /readyz stays ok; it recovers when the call settles', async () => {
    const agent = await startTestAgent([`--liveness-stall=${SHORT_STALL_MS / 1000}s`]);
    try {
      expect(agent.config.livenessStallMs).toBe(SHORT_STALL_MS);
      await addPort('lw1', 'fake-wedge');
      await waitBound(agent, 'lw1', 60_000);
      expect(await get(agent, '/healthz')).toEqual({ code: 200, body: 'ok\n' });

      await setRunMode('wedge');
      const wedgedAt = await waitUntil(
        async () => {
          const lines = (await readFile(callLogPath, 'utf8')).split('\n').filter((l) => l.endsWith(' wedge'));
          return lines.length > 0 ? Number(lines[0]?.split(' ')[0]) : undefined;
        },
        { description: 'the wedged run() call', timeoutMs: 10_000, maxIntervalMs: 50 },
      );
      const observations: { atMs: number; health: Answer; ready: Answer }[] = [];
      const failed = await waitUntil(
        async () => {
          const atMs = Date.now();
          const [health, ready] = await Promise.all([get(agent, '/healthz'), get(agent, '/readyz')]);
          observations.push({ atMs, health, ready });
          return health.code === 503 ? { atMs, health } : undefined;
        },
        { description: '/healthz 503', timeoutMs: SHORT_STALL_MS + 20_000, maxIntervalMs: 250 },
      );
      // Not before the bound (the wedge is measured from the call), and not much after it.
      // (250 ms: the sample's time is taken before the request the agent answers.)
      expect(failed.atMs - wedgedAt).toBeGreaterThanOrEqual(SHORT_STALL_MS - 250);
      expect(failed.atMs - wedgedAt).toBeLessThan(SHORT_STALL_MS + 15_000);
      expect(observations.filter((o) => o.atMs - wedgedAt < SHORT_STALL_MS - 500).length).toBeGreaterThan(0);
      for (const o of observations.filter((x) => x.atMs - wedgedAt < SHORT_STALL_MS - 500))
        expect(o.health.code).toBe(200);
      expect(failed.health.body).toContain('wedged: provider "fake-wedge" run()');
      expect(failed.health.body).toContain(`pending since ${new Date(wedgedAt).toISOString().slice(0, 16)}`);
      expect(failed.health.body).toContain(`the bound is ${SHORT_STALL_MS / 1000} s`);
      // Readiness is about the databases, which are fine.
      for (const o of observations) expect(o.ready.code).toBe(200);
      // The wedge stays a wedge: still failing a few seconds later.
      await sleep(3_000);
      expect((await get(agent, '/healthz')).code).toBe(503);

      await setRunMode('ok');
      await waitCode(agent, '/healthz', 200, 15_000);
    } finally {
      await setRunMode('ok');
      await stopAgent(agent);
    }
  }, 180_000);

  describe('databases unreachable or stalled, at the default liveness flags', () => {
    let agent: AgentHandle;
    beforeAll(async () => {
      agent = await startTestAgent([]);
      await waitCode(agent, '/readyz', 200, 60_000);
    }, 120_000);

    it('(b) SIGSTOPped OVS ovsdb-server with a plug sent to it: readiness false and reported, liveness true for longer than the bound; SIGCONT recovers', async () => {
      expect(agent.config.livenessStallMs).toBe(DEFAULT_LIVENESS_STALL_MS);
      const ovsdb = sandbox.node('hv1').ovs.ovsdb;
      const transactionsBefore = agent.reconciler.stats.transactions;
      ovsdb.pause();
      const pausedAt = Date.now();
      let samples: Awaited<ReturnType<typeof sample>>;
      try {
        // Work for the frozen server: a port to plug, sent in a transaction that gets no reply.
        await addPort('lb1', 'dummy');
        await waitUntil(() => agent.reconciler.stats.transactions > transactionsBefore, {
          description: 'a transaction sent to the frozen OVS DB',
          timeoutMs: 30_000,
        });
        samples = await sample(agent, pausedAt + DEFAULT_LIVENESS_STALL_MS + 25_000);
      } finally {
        ovsdb.resume();
      }
      expect(samples.filter((s) => s.health.code !== 200)).toEqual([]);
      const notReady = samples.filter((s) => s.ready.code === 503);
      expect(notReady.length).toBeGreaterThan(0);
      expect(notReady[0]?.ready.body).toContain('OVS DB not answering since');
      expect((notReady[0]?.atMs ?? Infinity) - pausedAt).toBeLessThan(30_000);
      // From then on, until SIGCONT: never ready, and the stall is a reported state.
      const last = samples.at(-1);
      expect(last?.ready.code).toBe(503);
      expect(last?.status.ovs.unansweredSinceMs).toBeGreaterThanOrEqual(pausedAt - 6_000);
      expect(last?.status.ovs.unansweredSinceMs).toBeLessThan(pausedAt + 30_000);
      expect((last?.atMs ?? 0) - pausedAt).toBeGreaterThan(DEFAULT_LIVENESS_STALL_MS);

      await waitCode(agent, '/readyz', 200, 60_000);
      await waitBound(agent, 'lb1', 120_000);
      expect((await get(agent, '/healthz')).code).toBe(200);
      expect(agent.status().ovs.unansweredSinceMs).toBeUndefined();
    }, 300_000);

    it('(c) unreachable Southbound DB: readiness false, liveness true for longer than the bound; restoring the remote recovers', async () => {
      const ovs = sandbox.node('hv1').ovs;
      const original = (await ovs.vsctl('get', 'Open_vSwitch', '.', 'external_ids:ovn-remote')).trim();
      const closedPort = await pickFreePort();
      await ovs.vsctl(
        '--no-wait',
        'set',
        'Open_vSwitch',
        '.',
        `external_ids:ovn-remote="tcp:127.0.0.1:${closedPort}"`,
      );
      const cutAt = Date.now();
      let samples: Awaited<ReturnType<typeof sample>>;
      try {
        await waitCode(agent, '/readyz', 503, 30_000);
        // Work the agent cannot see yet: a port added while the SB is out of reach.
        await addPort('lc1', 'dummy');
        samples = await sample(agent, cutAt + DEFAULT_LIVENESS_STALL_MS + 20_000);
      } finally {
        await ovs.vsctl('--no-wait', 'set', 'Open_vSwitch', '.', `external_ids:ovn-remote=${original}`);
      }
      expect(samples.filter((s) => s.health.code !== 200)).toEqual([]);
      for (const s of samples) {
        expect(s.ready.code).toBe(503);
        expect(s.ready.body).toContain('Southbound DB not synced');
        expect(s.status.sb.synced).toBe(false);
      }
      expect((samples.at(-1)?.atMs ?? 0) - cutAt).toBeGreaterThan(DEFAULT_LIVENESS_STALL_MS);

      await waitCode(agent, '/readyz', 200, 90_000);
      await waitBound(agent, 'lc1', 120_000);
      expect((await get(agent, '/healthz')).code).toBe(200);
    }, 300_000);
  });
});
