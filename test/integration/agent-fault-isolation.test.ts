/**
 * Fault isolation of plug providers end to end (issue 4, "Fault isolation"): the real agent
 * in-process against a real sandbox (OVN central, ovs-vswitchd --enable-dummy=override, unmodified
 * ovn-controller), with the built-in `dummy` provider and two FAKE providers loaded through
 * `--provider-module` (test/fixtures/providers/faulty-providers.js) that fail on demand:
 * `fault-run` (run() throws, rejects or hangs as a control file says) and `fault-prepare`
 * (prepare() throws for ports carrying an option).
 *
 * The steps share one agent and run in order; each leaves the providers healthy again.
 */
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommandLine, startAgent, type AgentHandle, type PortStatus } from '../../src/agent/index.js';
import { interfacesForLogicalPort, lspAdd, startSandbox, waitUntil, type Sandbox } from '../harness/index.js';
import { metricSamples, metricValue as metricValueAt } from './support/metrics.js';

const FIXTURE = resolve(import.meta.dirname, '../fixtures/providers/faulty-providers.js');
/** The registry's default run() time limit, which the agent uses. */
const RUN_TIMEOUT_MS = 5_000;

let sandbox: Sandbox;
let agent: AgentHandle;
let dir: string;
let controlPath: string;
let callLogPath: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'f-fault-'));
  controlPath = join(dir, 'control.json');
  callLogPath = join(dir, 'fault-run.calls');
  await setRunMode('ok');
  await writeFile(callLogPath, '');
  const modulePath = join(dir, 'faulty.mjs');
  await writeFile(
    modulePath,
    `import { createFaultyProviders } from ${JSON.stringify(FIXTURE)};\n` +
      `export default createFaultyProviders(${JSON.stringify(controlPath)}, ${JSON.stringify(callLogPath)});\n`,
  );
  sandbox = await startSandbox({ chassis: ['hv1'] });
  const parsed = parseCommandLine(
    [
      `--ovs-db=${sandbox.node('hv1').ovs.dbRemote}`,
      '--providers=dummy',
      `--provider-module=${modulePath}`,
      '--listen=127.0.0.1:0',
      '--log-level=silent',
      // Long, so every replan below comes from a change or a provider, not from the timer.
      '--resync-interval=10m',
    ],
    {},
  );
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  agent = await startAgent(parsed.config, { backoff: { minMs: 200, maxMs: 500 } });
}, 60_000);

afterAll(async () => {
  await setRunMode('ok').catch(() => undefined);
  await agent?.stop();
  await sandbox?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** Replaces the control file atomically, so run() never reads half a file. */
async function setRunMode(mode: 'ok' | 'throw' | 'reject' | 'hang'): Promise<void> {
  await writeFile(`${controlPath}.tmp`, JSON.stringify({ run: mode }));
  await rename(`${controlPath}.tmp`, controlPath);
}

/** Times (ms since epoch) of every fault-run run() call so far. */
async function runCalls(): Promise<number[]> {
  return (await readFile(callLogPath, 'utf8')).split('\n').filter(Boolean).map(Number);
}

function port(name: string): PortStatus | undefined {
  return agent.status().ports.find((p) => p.logicalPort === name);
}

function waitPort(
  name: string,
  matches: (p: PortStatus) => boolean,
  description: string,
  timeoutMs = 20_000,
): Promise<PortStatus> {
  return waitUntil(
    () => {
      const p = port(name);
      return p !== undefined && matches(p) ? p : undefined;
    },
    { description: `${name} ${description}`, timeoutMs, maxIntervalMs: 50 },
  );
}

const waitBound = (name: string, timeoutMs?: number): Promise<PortStatus> =>
  waitPort(name, (p) => p.state === 'Bound', 'Bound', timeoutMs);

async function addPort(name: string, plugType: string, extra: Record<string, string> = {}): Promise<void> {
  await lspAdd(sandbox.central, name, {
    options: { 'requested-chassis': 'hv1', 'vif-plug-type': plugType, ...extra },
  });
}

/** UUIDs of the interfaces carrying `iface-id=<name>` on hv1. */
async function ifaceUuids(name: string): Promise<unknown[]> {
  return (await interfacesForLogicalPort(sandbox.node('hv1').ovs, name)).map((row) => row['_uuid']);
}

function metricValue(family: string, labels: Record<string, string>): Promise<number | undefined> {
  return metricValueAt(agent.url ?? '', family, labels);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

describe('provider fault isolation (real sandbox, FAKE faulty providers)', () => {
  it('loads the fake providers; a prepare() that throws fails only its own port', async () => {
    expect(agent.status().providers.map((p) => p.type)).toEqual(['dummy', 'fault-run', 'fault-prepare']);
    await addPort('d1', 'dummy');
    await addPort('fr1', 'fault-run');
    await addPort('fp1', 'fault-prepare');
    await addPort('fpx', 'fault-prepare', { 'vif-plug:fault-prepare:throw': 'boom-fpx' });
    await Promise.all(['d1', 'fr1', 'fp1'].map((name) => waitBound(name)));
    const failed = await waitPort('fpx', (p) => p.state === 'Failed', 'Failed');
    expect(failed).toMatchObject({ provider: 'fault-prepare', reason: 'ProviderError' });
    expect(failed.message).toContain('fake prepare failure: boom-fpx');
    expect(await ifaceUuids('fpx')).toEqual([]);
    expect(await ifaceUuids('fp1')).toHaveLength(1);
    expect(
      await metricValue('ovn_plug_provider_errors_total', {
        provider: 'fault-prepare',
        reason: 'ProviderError',
      }),
    ).toBeGreaterThanOrEqual(1);
    for (const provider of ['dummy', 'fault-run', 'fault-prepare'])
      expect(await metricValue('ovn_plug_provider_available', { provider })).toBe(1);
    // /status over HTTP says the same as the in-process handle.
    const body = (await (await fetch(`${agent.url ?? ''}/status`)).json()) as { ports: PortStatus[] };
    expect(body.ports.find((p) => p.logicalPort === 'fpx')).toMatchObject({ state: 'Failed' });
  });

  it('a run() that throws: its ports are Pending with the error, keep their interface, are retried with growing gaps, and recover', async () => {
    const fr1Before = await ifaceUuids('fr1');
    expect(fr1Before).toHaveLength(1);
    const callsBefore = (await runCalls()).length;
    const runFailedBefore =
      (await metricValue('ovn_plug_provider_errors_total', { provider: 'fault-run', reason: 'RunFailed' })) ??
      0;
    await setRunMode('throw');
    const pending = await waitPort('fr1', (p) => p.state === 'Pending', 'Pending', 5_000);
    expect(pending.reason).toBe('ProviderUnavailable');
    expect(pending.message).toContain('run() threw: fake run failure (throw)');
    expect(agent.status().providers.find((p) => p.type === 'fault-run')).toMatchObject({
      available: false,
      reason: 'run() threw: fake run failure (throw)',
    });
    // The alerting gauge agrees with the ports' state while run() fails.
    await waitUntil(
      async () => (await metricValue('ovn_plug_provider_available', { provider: 'fault-run' })) === 0,
      { description: 'ovn_plug_provider_available{provider="fault-run"} == 0', timeoutMs: 5_000 },
    );

    // Other providers keep working meanwhile; a new port of the failing provider waits.
    await addPort('d2', 'dummy');
    await addPort('fr2', 'fault-run');
    await waitBound('d2', 10_000);
    const fr2 = await waitPort('fr2', (p) => p.state === 'Pending', 'Pending', 5_000);
    expect(fr2.message).toContain('run() threw');
    expect(await ifaceUuids('fr2')).toEqual([]);
    expect(port('fp1')?.state).toBe('Bound');

    // Backoff: four failed calls whose gaps are at least the backoff (1 s, 2 s, 4 s) and at most
    // that plus the agent's 1 s run tick (and slack for a loaded machine).
    const failedCalls = await waitUntil(
      async () => {
        const calls = (await runCalls()).slice(callsBefore);
        return calls.length >= 4 ? calls : undefined;
      },
      { description: '4 failing run() calls', timeoutMs: 20_000, maxIntervalMs: 100 },
    );
    const gaps = failedCalls.slice(1, 4).map((t, i) => t - (failedCalls[i] ?? 0));
    for (const [i, backoffMs] of [1_000, 2_000, 4_000].entries()) {
      expect(gaps[i]).toBeGreaterThanOrEqual(backoffMs);
      expect(gaps[i]).toBeLessThan(backoffMs + 2_500);
    }
    expect(
      await metricValue('ovn_plug_provider_errors_total', { provider: 'fault-run', reason: 'RunFailed' }),
    ).toBeGreaterThanOrEqual(runFailedBefore + 4);
    expect(
      await metricValue('ovn_plug_provider_errors_total', {
        provider: 'fault-run',
        reason: 'ProviderUnavailable',
      }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      (await metricSamples(agent.url ?? '', 'ovn_plug_provider_errors_total')).filter(
        (s) => s.labels['provider'] === 'dummy',
      ),
    ).toEqual([]);
    // Never unplugged while the provider failed.
    expect(await ifaceUuids('fr1')).toEqual(fr1Before);

    await setRunMode('ok');
    await Promise.all([waitBound('fr1', 15_000), waitBound('fr2', 15_000)]);
    expect(await ifaceUuids('fr1')).toEqual(fr1Before);
    expect(await ifaceUuids('fr2')).toHaveLength(1);
    expect(agent.status().providers.find((p) => p.type === 'fault-run')).toEqual({
      type: 'fault-run',
      available: true,
    });
  }, 45_000);

  it('a run() that rejects: same isolation, and recovery', async () => {
    const fr1Before = await ifaceUuids('fr1');
    await setRunMode('reject');
    const pending = await waitPort('fr1', (p) => p.state === 'Pending', 'Pending', 5_000);
    expect(pending.message).toContain('run() rejected: fake run failure (reject)');
    await addPort('d3', 'dummy');
    await waitBound('d3', 10_000);
    await setRunMode('ok');
    await Promise.all([waitBound('fr1', 10_000), waitBound('fr2', 10_000)]);
    expect(await ifaceUuids('fr1')).toEqual(fr1Before);
  });

  it('a run() that hangs is time-limited; other ports are plugged meanwhile; it is not called again until it settles', async () => {
    const fr1Before = await ifaceUuids('fr1');
    const callsBefore = (await runCalls()).length;
    await setRunMode('hang');
    const hungAt = await waitUntil(async () => (await runCalls())[callsBefore], {
      description: 'the hanging run() call',
      timeoutMs: 5_000,
      maxIntervalMs: 50,
    });

    // While run() hangs, well inside its time limit, a dummy port is plugged and bound.
    const addedAt = Date.now();
    await addPort('d4', 'dummy');
    await waitBound('d4', RUN_TIMEOUT_MS);
    const d4BoundMs = Date.now() - addedAt;
    expect(Date.now() - hungAt).toBeLessThan(RUN_TIMEOUT_MS);
    expect(d4BoundMs).toBeLessThan(3_000);
    expect(port('fr1')?.state).toBe('Bound');

    const pending = await waitPort(
      'fr1',
      (p) => p.state === 'Pending',
      'Pending after the time limit',
      RUN_TIMEOUT_MS + 5_000,
    );
    const limitedAfterMs = Date.now() - hungAt;
    expect(pending.message).toContain(`run() did not finish within ${RUN_TIMEOUT_MS} ms`);
    expect(limitedAfterMs).toBeGreaterThanOrEqual(RUN_TIMEOUT_MS - 100);
    expect(limitedAfterMs).toBeLessThan(RUN_TIMEOUT_MS + 3_000);
    expect(
      await metricValue('ovn_plug_provider_errors_total', { provider: 'fault-run', reason: 'RunFailed' }),
    ).toBeGreaterThanOrEqual(5);

    // Still hung: no second call stacks up on it, and the agent keeps working.
    await addPort('d5', 'dummy');
    await waitBound('d5', 10_000);
    await sleep(1_500);
    expect((await runCalls()).length).toBe(callsBefore + 1);
    expect(await ifaceUuids('fr1')).toEqual(fr1Before);

    await setRunMode('ok');
    await Promise.all([waitBound('fr1', 10_000), waitBound('fr2', 10_000)]);
    expect(await ifaceUuids('fr1')).toEqual(fr1Before);
    expect((await runCalls()).length).toBeGreaterThan(callsBefore + 1);
    for (const name of ['d1', 'd2', 'd3', 'd4', 'd5', 'fp1']) expect(port(name)?.state).toBe('Bound');
    expect(port('fpx')?.state).toBe('Failed');
    for (const provider of ['dummy', 'fault-run', 'fault-prepare'])
      expect(await metricValue('ovn_plug_provider_available', { provider })).toBe(1);
  }, 30_000);
});
