/**
 * OvsdbClient against a real 3-member Raft cluster: leader transfer, member killed, quorum lost
 * and regained, condition change during a reconnect, stale/rejected servers (checklist D2, D3,
 * E5, F2, F3, F7). The oracle is a `select` through `ovsdb-client` on the leader.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SupervisedProcess,
  canConnectUnix,
  defaultRegistry,
  startRaftCluster,
  toolEnv,
  useHarness,
  waitUntil,
} from '../harness/index.js';
import type { RaftCluster, RaftMember } from '../harness/index.js';
import { useOvsdbClients } from './support/ovsdb-setup.js';
import { RpcConnection, parseRemote, where, ZERO_UUID } from '../../src/ovsdb/index.js';
import type { OvsdbClient } from '../../src/ovsdb/index.js';

const SCHEMA = {
  name: 'Test',
  version: '1.0.0',
  tables: {
    Item: {
      columns: {
        name: { type: 'string' },
        value: { type: 'integer' },
        tags: { type: { key: 'string', min: 0, max: 'unlimited' } },
      },
      indexes: [['name']],
      isRoot: true,
    },
  },
};

let schemaDir = '';
beforeAll(async () => {
  schemaDir = await mkdtemp(join(tmpdir(), 'ovsdb-cluster-schema-'));
  await writeFile(join(schemaDir, 'test.ovsschema'), JSON.stringify(SCHEMA));
});
afterAll(async () => {
  await rm(schemaDir, { recursive: true, force: true });
});

const hooks = { beforeAll, afterAll };
const cluster = useHarness(hooks, () =>
  startRaftCluster({ schema: join(schemaDir, 'test.ovsschema'), members: 3, name: 'ocl' }),
);

const client = useOvsdbClients(hooks, () => ({
  remotes: cluster().remote,
  database: 'Test',
  tables: { Item: {} },
  backoff: { minMs: 200, maxMs: 1000 },
  probeIntervalMs: 1000,
  timeouts: { requestMs: 3000, transactMs: 5000, connectMs: 2000 },
}));

type ItemKey = string;
const itemKeys = (rows: readonly Record<string, unknown>[]): ItemKey[] =>
  rows.map((r) => `${String(r['name'])}=${String(r['value'])}`).sort();

async function oracle(c: RaftCluster): Promise<ItemKey[]> {
  const leader = await c.leader(20_000);
  return itemKeys(await leader.server.select('Item'));
}

/** Writes items continuously through `writer` until stopped; returns how many were confirmed. */
function startWriter(writer: OvsdbClient, prefix: string): { stop: () => Promise<number> } {
  let running = true;
  let confirmed = 0;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const outcome = await writer.transact(
        (tx) => void tx.insert('Item', { name: `${prefix}${i}`, value: i }),
      );
      if (outcome.status === 'success') confirmed++;
      await new Promise((r) => setTimeout(r, outcome.status === 'success' ? 10 : 100));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return confirmed;
    },
  };
}

async function expectConverged(c: OvsdbClient): Promise<void> {
  let expected: ItemKey[] = [];
  await waitUntil(
    async () => {
      expected = await oracle(cluster());
      const got = itemKeys(c.table('Item').all());
      return got.length === expected.length && got.every((k, i) => k === expected[i]);
    },
    { timeoutMs: 20_000, description: 'replica to equal the oracle' },
  ).catch(() => undefined);
  const got = itemKeys(c.table('Item').all());
  expect(new Set(got).size).toBe(got.length);
  expect(got).toEqual(expected);
}

function memberOf(c: OvsdbClient): RaftMember {
  const m = cluster().members.find((x) => x.remote === c.currentRemote);
  if (m === undefined) throw new Error(`client is on ${String(c.currentRemote)}, not a member`);
  return m;
}

describe('OvsdbClient on a 3-member Raft cluster', () => {
  it('follows a leader transfer quickly, resuming with found=true, without losing or duplicating updates (D2, F3, F7)', async () => {
    const reader = client({ leaderOnly: true });
    const writer = client({ leaderOnly: false });
    await Promise.all([reader.ready(), writer.ready()]);
    const leader = await cluster().leader();
    expect(reader.currentRemote).toBe(leader.remote);
    const resumes: boolean[] = [];
    reader.on('reconnect', (r) => resumes.push(r.incremental));
    const w = startWriter(writer, 'lt');
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    const newLeader = await cluster().transferLeadership();
    await waitUntil(() => reader.state === 'monitoring' && reader.currentRemote === newLeader.remote, {
      timeoutMs: 10_000,
      description: 'reader on the new leader',
    });
    const moveMs = Date.now() - t0;
    await new Promise((r) => setTimeout(r, 300));
    const confirmed = await w.stop();
    expect(confirmed).toBeGreaterThan(5);
    expect(moveMs).toBeLessThan(5000);
    expect(resumes).toContain(true);
    expect(reader.lastTransactionId).not.toBe(ZERO_UUID);
    await expectConverged(reader);
  });

  it('sees its own write in the replica when transact resolves, also through a follower (D8, F7)', async () => {
    const leader = await cluster().leader();
    const follower = cluster().members.find((m) => m !== leader) as RaftMember;
    const c = client({ remotes: follower.remote, leaderOnly: false });
    await c.ready();
    expect(c.currentRemote).toBe(follower.remote);
    const outcome = await c.transact((tx) => void tx.insert('Item', { name: 'via-follower', value: 42 }));
    expect(outcome.status).toBe('success');
    expect(c.table('Item').find((r) => r['name'] === 'via-follower')).toHaveLength(1);
  });

  it('works through a relay: own writes visible on return; leaderOnly rejects the relay (D8 relay, F2)', async () => {
    const relayDir = await mkdtemp(join(tmpdir(), 'ocl-relay-'));
    const sock = join(relayDir, 'relay.sock');
    const relay = new SupervisedProcess(
      {
        name: 'relay',
        command: 'ovsdb-server',
        args: [
          `--remote=punix:${sock}`,
          `--unixctl=${join(relayDir, 'relay.ctl')}`,
          `--log-file=${join(relayDir, 'relay.log')}`,
          `relay:Test:${cluster().remote}`,
        ],
        dir: relayDir,
        env: toolEnv(relayDir),
        ready: () => canConnectUnix(sock),
      },
      defaultRegistry(),
    );
    await relay.start();
    try {
      const viaRelay = client({ remotes: `unix:${sock}`, leaderOnly: false });
      await viaRelay.ready();
      const outcome = await viaRelay.transact(
        (tx) => void tx.insert('Item', { name: 'via-relay', value: 7 }),
      );
      expect(outcome.status).toBe('success');
      expect(viaRelay.table('Item').find((r) => r['name'] === 'via-relay')).toHaveLength(1);
      const strict = client({ remotes: `unix:${sock}`, leaderOnly: true });
      const warnings: string[] = [];
      strict.on('warning', (w) => warnings.push(w));
      await waitUntil(() => warnings.some((w) => /not the Test cluster leader/.test(w)), {
        description: 'relay rejected with leaderOnly',
      });
      expect(strict.state).not.toBe('monitoring');
      await strict.close();
      await viaRelay.close();
    } finally {
      await relay.stop();
      await rm(relayDir, { recursive: true, force: true });
    }
  });

  it('replaces the replica when the server does not know the last id (found=false) (D3)', async () => {
    const conn = await RpcConnection.open(parseRemote(cluster().members[0]?.remote as string));
    try {
      const reply = await conn.request<[boolean, string, Record<string, Record<string, unknown>>]>(
        'monitor_cond_since',
        ['Test', 'm', { Item: [{ columns: ['name', 'value'] }] }, '0a0b0c0d-0000-4000-8000-000000000000'],
      );
      expect(reply[0]).toBe(false);
      expect(reply[1]).not.toBe(ZERO_UUID);
      const rows = Object.values(reply[2]['Item'] ?? {});
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.every((r) => 'initial' in (r as object))).toBe(true);
    } finally {
      conn.close();
    }
  });

  it('moves to another member when its member is killed, and resumes without loss (member loss)', async () => {
    const reader = client({ leaderOnly: false });
    const writer = client({ leaderOnly: false });
    await Promise.all([reader.ready(), writer.ready()]);
    const victim = memberOf(reader);
    const w = startWriter(writer, 'kill');
    await new Promise((r) => setTimeout(r, 200));
    await victim.kill9();
    await waitUntil(() => reader.state === 'monitoring' && reader.currentRemote !== victim.remote, {
      timeoutMs: 15_000,
      description: 'reader on another member',
    });
    await new Promise((r) => setTimeout(r, 300));
    await w.stop();
    await victim.restart();
    await cluster().waitHealthy(20_000);
    await expectConverged(reader);
  });

  it('rejects members without quorum, then resumes when quorum returns (F2, quorum loss)', async () => {
    const reader = client({ leaderOnly: false });
    await reader.ready();
    const seqno = reader.seqno;
    const warnings: string[] = [];
    reader.on('warning', (m) => warnings.push(m));
    const home = memberOf(reader);
    const others = cluster().members.filter((m) => m !== home);
    for (const m of others) m.pause();
    try {
      await waitUntil(() => reader.state !== 'monitoring', {
        timeoutMs: 15_000,
        description: 'reader to drop the member without quorum',
      });
      await waitUntil(() => warnings.some((w) => /not connected to the Test cluster/.test(w)), {
        timeoutMs: 15_000,
        description: 'a rejection for lost quorum',
      });
    } finally {
      for (const m of others) m.resume();
    }
    await cluster().waitHealthy(20_000);
    const writer = client({ leaderOnly: false });
    await writer.ready();
    expect(
      (await writer.transact((tx) => void tx.insert('Item', { name: 'after-quorum', value: 1 }))).status,
    ).toBe('success');
    await reader.ready();
    await reader.waitForChange(seqno);
    await expectConverged(reader);
  });

  it('reloads with the newest condition after a reconnect during a condition change (E5)', async () => {
    const writer = client({ leaderOnly: false });
    await writer.ready();
    const seeded = await writer.transact((tx) => {
      for (const [i, name] of ['e5a', 'e5b', 'e5c'].entries()) tx.insert('Item', { name, value: i });
    });
    expect(seeded.status).toBe('success');
    const reader = client({ leaderOnly: false, tables: { Item: { where: [where('name', '==', 'e5a')] } } });
    await reader.ready();
    expect(itemKeys(reader.table('Item').all())).toEqual(['e5a=0']);
    const home = memberOf(reader);
    const resumes: boolean[] = [];
    reader.on('reconnect', (r) => resumes.push(r.incremental));
    home.pause();
    let expectedSeqno = 0;
    try {
      expectedSeqno = reader.setCondition('Item', [where('name', '==', 'e5b'), where('name', '==', 'e5c')]);
      await waitUntil(() => reader.currentRemote !== home.remote && reader.state === 'monitoring', {
        timeoutMs: 15_000,
        description: 'reader on another member',
      });
    } finally {
      home.resume();
    }
    await reader.waitForConditionSeqno(expectedSeqno);
    const expected = itemKeys(
      (await (await cluster().leader()).server.select('Item')).filter(
        (r) => r['name'] === 'e5b' || r['name'] === 'e5c',
      ),
    );
    expect(expected.length).toBe(2);
    expect(itemKeys(reader.table('Item').all())).toEqual(expected);
    // The change was in flight at the disconnect: the last id was forgotten (full reload).
    expect(resumes).toEqual([false]);
  });
});
