/**
 * The agent against the Southbound DB as deployments run it: over `ssl:` with OVS-PKI
 * certificates (the CA is verified), and as a 3-member Raft cluster whose leader changes while
 * the agent works (DESIGN §5). ovn-controller is unmodified.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCommandLine, startAgent, type AgentHandle, type Config } from '../../src/agent/index.js';
import {
  asStringMap,
  createPki,
  lspAdd,
  startOvnCentral,
  startOvnController,
  startSandbox,
  startVswitchd,
  waitPortBindingUp,
  waitUntil,
  type Stoppable,
  type Vswitchd,
} from '../harness/index.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

function config(ovsDb: string, extra: string[]): Config {
  const parsed = parseCommandLine(
    [
      `--ovs-db=${ovsDb}`,
      '--providers=dummy',
      '--listen=127.0.0.1:0',
      '--log-level=silent',
      '--resync-interval=2s',
      ...extra,
    ],
    {},
  );
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return parsed.config;
}

function waitBound(agent: AgentHandle, port: string): Promise<true> {
  return waitUntil(
    () => agent.status().ports.find((p) => p.logicalPort === port)?.state === 'Bound' || undefined,
    {
      description: `${port} Bound`,
      timeoutMs: 20_000,
      maxIntervalMs: 100,
    },
  );
}

async function ifaceUuids(ovs: Vswitchd): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  for (const row of await ovs.interfaces()) {
    const id = asStringMap(row['external_ids'])['iface-id'];
    if (id !== undefined) out.set(id, row['_uuid']);
  }
  return out;
}

describe('Southbound over ssl:', () => {
  it('plugs with -p/-c/-C and the CA verified; a wrong CA never syncs and unplugs nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'g-sbssl-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const pki = await createPki(join(dir, 'pki'));
    const otherPki = await createPki(join(dir, 'other-pki'));
    const central = await startOvnCentral({ remotes: ['punix', 'ptcp', 'pssl'], pki });
    const started: Stoppable[] = [central];
    cleanups.push(async () => {
      for (const s of started.reverse()) await s.stop();
    });
    const ovs = await startVswitchd({ name: 'hv1' });
    started.push(ovs);
    started.push(await startOvnController({ ovs, central, chassis: 'hv1' }));
    const sslRemote = central.sbSslRemote;
    if (sslRemote === undefined) throw new Error('no ssl remote');
    /** Our client certificate, and `caCert` as the CA the agent verifies the SB against. */
    const sslConfig = (caCert: string): Config =>
      config(ovs.dbRemote, [
        `--ovnsb-db=${sslRemote}`,
        '-p',
        pki.clientKey,
        '-c',
        pki.clientCert,
        '-C',
        caCert,
      ]);

    const agent = await startAgent(sslConfig(pki.caCert));
    cleanups.push(() => agent.stop());
    await lspAdd(central, 'tls1', { options: { 'requested-chassis': 'hv1', 'vif-plug-type': 'dummy' } });
    await waitPortBindingUp(central, 'tls1');
    await waitBound(agent, 'tls1');
    expect(agent.status().sb).toMatchObject({ remote: sslRemote, synced: true });
    await agent.stop();

    const before = await ifaceUuids(ovs);
    const wrong = await startAgent(sslConfig(otherPki.caCert), {
      backoff: { minMs: 100, maxMs: 200 },
    });
    cleanups.push(() => wrong.stop());
    await waitUntil(() => wrong.status().ovs.synced, { description: 'OVS synced' });
    await new Promise((r) => setTimeout(r, 1500));
    expect(wrong.status().sb.synced).toBe(false);
    expect((await fetch(`${wrong.url ?? ''}/readyz`)).status).toBe(503);
    expect(await ifaceUuids(ovs)).toEqual(before);
    await wrong.stop();
  });
});

describe('Southbound as a 3-member Raft cluster', () => {
  it('keeps plugging through leader changes without unplugging or replugging anything', async () => {
    const sandbox = await startSandbox({ chassis: ['hv1'], sbCluster: true });
    cleanups.push(() => sandbox.stop());
    const cluster = sandbox.central.sbCluster;
    if (cluster === undefined) throw new Error('no cluster');
    const ovs = sandbox.node('hv1').ovs;
    const agent = await startAgent(config(ovs.dbRemote, []));
    cleanups.push(() => agent.stop());
    await lspAdd(sandbox.central, 'raft1', {
      options: { 'requested-chassis': 'hv1', 'vif-plug-type': 'dummy' },
    });
    await waitBound(agent, 'raft1');
    const before = await ifaceUuids(ovs);

    await cluster.transferLeadership();
    await lspAdd(sandbox.central, 'raft2', {
      options: { 'requested-chassis': 'hv1', 'vif-plug-type': 'dummy' },
    });
    await waitBound(agent, 'raft2');
    await cluster.transferLeadership();
    await lspAdd(sandbox.central, 'raft3', {
      options: { 'requested-chassis': 'hv1', 'vif-plug-type': 'dummy' },
    });
    await waitBound(agent, 'raft3');

    const after = await ifaceUuids(ovs);
    expect(after.get('raft1')).toBe(before.get('raft1'));
    expect([...after.keys()].sort()).toEqual(['raft1', 'raft2', 'raft3']);
    expect(agent.status().ports.map((p) => p.state)).toEqual(['Bound', 'Bound', 'Bound']);
  });
});
