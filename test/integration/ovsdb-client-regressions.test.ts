/**
 * Regression tests for OvsdbClient defects found in review, against the FAKE ovsdb-server
 * (test/fakes): each needs fault injection a real server cannot do on demand (a `_Server` change
 * timed inside the initial sync, an update that never applies, a server dropping every connection
 * right after the sync, cluster ids and indexes chosen per connection, a condition change that is
 * never acknowledged). Every test failed on the client before the fix.
 */
import { afterEach, expect, it } from 'vitest';
import { waitUntil } from '../harness/index.js';
import { FAKE_SCHEMA, serverDbUpdate, startFakeOvsdbServer } from '../fakes/fake-ovsdb-server.js';
import type { FakeHandler, FakeOvsdbServer } from '../fakes/fake-ovsdb-server.js';
import { OvsdbClient, ZERO_UUID, where } from '../../src/ovsdb/index.js';
import type { ClientState, OvsdbClientOptions } from '../../src/ovsdb/index.js';

const SRV_ROW = 'aaaaaaaa-0000-4000-8000-000000000001';
const ROW1 = 'bbbbbbbb-0000-4000-8000-000000000001';
const ROW2 = 'bbbbbbbb-0000-4000-8000-000000000002';
const CID1 = 'dddddddd-0000-4000-8000-000000000001';
const CID2 = 'dddddddd-0000-4000-8000-000000000002';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Observed {
  readonly f: FakeOvsdbServer;
  readonly c: OvsdbClient;
  readonly warnings: string[];
  readonly states: ClientState[];
}

async function setup(handler: FakeHandler, extra: Partial<OvsdbClientOptions> = {}): Promise<Observed> {
  const f = await startFakeOvsdbServer(handler);
  cleanups.push(() => f.stop());
  const c = new OvsdbClient({
    remotes: f.remote,
    database: 'Fake',
    tables: { Thing: {} },
    probeIntervalMs: 0,
    ...extra,
  });
  cleanups.push(() => c.close());
  const warnings: string[] = [];
  const states: ClientState[] = [];
  c.on('warning', (w) => warnings.push(w));
  c.on('state', (s) => states.push(s));
  c.start();
  return { f, c, warnings, states };
}

/** A server without `_Server` (pre-2.9) whose data monitor answers with `dump`. */
function plainServer(dump: unknown = {}): FakeHandler {
  return (method) => {
    if (method === 'monitor_cond') return { error: { error: 'unknown database' } };
    if (method === 'get_schema') return { result: FAKE_SCHEMA };
    if (method === 'monitor_cond_since') return { result: [false, ZERO_UUID, dump] };
    if (method === 'monitor_cond_change') return { result: {} };
    return { error: 'unknown method' };
  };
}

it('drops a server whose _Server row loses leadership during the initial sync (leaderOnly, F3)', async () => {
  let serverMonitorId: unknown;
  const { f, warnings, states } = await setup(
    (method, params, conn) => {
      if (method === 'monitor_cond') {
        serverMonitorId = params[1];
        return {
          result: serverDbUpdate({ model: 'clustered', leader: true, connected: true, index: 5 }),
        };
      }
      if (method === 'set_db_change_aware') return { result: {} };
      if (method === 'monitor_cond_since') {
        conn.notify('update2', [serverMonitorId, { Database: { [SRV_ROW]: { modify: { leader: false } } } }]);
        return { result: [false, ZERO_UUID, {}] };
      }
      return { error: 'unknown method' };
    },
    { backoff: { minMs: 50, maxMs: 100 } },
  );
  await waitUntil(() => f.connections.length >= 2, { description: 'a second connection' });
  expect(warnings.some((w) => w.includes('not the Fake cluster leader'))).toBe(true);
  expect(states).not.toContain('monitoring');
});

it('drops a server whose _Server row says connected:false during the initial sync (leaderOnly:false, F3)', async () => {
  let serverMonitorId: unknown;
  const { f, warnings, states } = await setup(
    (method, params, conn) => {
      if (method === 'monitor_cond') {
        serverMonitorId = params[1];
        return {
          result: serverDbUpdate({ model: 'clustered', leader: false, connected: true, index: 5 }),
        };
      }
      if (method === 'set_db_change_aware') return { result: {} };
      if (method === 'monitor_cond_since') {
        conn.notify('update2', [
          serverMonitorId,
          { Database: { [SRV_ROW]: { modify: { connected: false } } } },
        ]);
        return { result: [false, ZERO_UUID, {}] };
      }
      return { error: 'unknown method' };
    },
    { leaderOnly: false, backoff: { minMs: 50, maxMs: 100 } },
  );
  await waitUntil(() => f.connections.length >= 2, { description: 'a second connection' });
  expect(warnings.some((w) => w.includes('not connected to the Fake cluster'))).toBe(true);
  expect(states).not.toContain('monitoring');
});

it('a condition set during a resync gets a seqno reached only once that condition is in effect (E4)', async () => {
  const { f, c } = await setup((method, _params, conn) => {
    if (method === 'monitor_cond') return { error: { error: 'unknown database' } };
    if (method === 'get_schema') return { result: FAKE_SCHEMA };
    if (method === 'monitor_cond_since')
      return conn.index === 1
        ? { result: [false, ZERO_UUID, {}] }
        : { trickle: [false, ZERO_UUID, {}], overMs: 300 };
    // never acknowledged on the first connection, acknowledged late on the later ones
    if (method === 'monitor_cond_change') return conn.index === 1 ? undefined : { trickle: {}, overMs: 150 };
    return { error: 'unknown method' };
  });
  await c.ready();
  expect(c.setCondition('Thing', [where('name', '==', 'a')])).toBe(1); // in flight
  expect(c.setCondition('Thing', [where('name', '==', 'b')])).toBe(2); // coalesced
  await sleep(50);
  f.connections[0]?.close();
  await waitUntil(() => f.connections.length >= 2 && c.state === 'syncing', {
    description: 'second connection syncing',
  });
  const n = c.setCondition('Thing', [where('name', '==', 'c')]);
  expect(n).toBe(3);
  await c.waitForConditionSeqno(n);
  expect(c.conditionSeqno).toBe(3);
  const conn2 = f.requests.filter((r) => r.connection === 2);
  expect(JSON.stringify(conn2.find((r) => r.method === 'monitor_cond_since')?.params)).toContain('"b"');
  const change = conn2.find((r) => r.method === 'monitor_cond_change');
  expect(change?.params[2]).toEqual({ Thing: [{ where: [['name', '==', 'c']] }] });
});

it('condition seqnos handed out before a resync are still reached when that resync is interrupted (E4, E5)', async () => {
  const { f, c } = await setup(
    (method, _params, conn) => {
      if (method === 'monitor_cond') return { error: { error: 'unknown database' } };
      if (method === 'get_schema') return { result: FAKE_SCHEMA };
      // connection 2 never answers its data monitor request: the test drops it mid-resync
      if (method === 'monitor_cond_since')
        return conn.index === 2 ? undefined : { result: [false, ZERO_UUID, {}] };
      if (method === 'monitor_cond_change') return conn.index === 1 ? undefined : { result: {} };
      return { error: 'unknown method' };
    },
    { backoff: { minMs: 50, maxMs: 100 } },
  );
  await c.ready();
  expect(c.setCondition('Thing', [where('name', '==', 'a')])).toBe(1);
  expect(c.setCondition('Thing', [where('name', '==', 'b')])).toBe(2);
  f.connections[0]?.close();
  await waitUntil(() => f.requests.some((r) => r.connection === 2 && r.method === 'monitor_cond_since'), {
    description: 'the resync request on connection 2',
  });
  f.connections[1]?.close();
  await c.waitForConditionSeqno(2, { signal: AbortSignal.timeout(5000) });
  const resync = f.requests.find((r) => r.connection === 3 && r.method === 'monitor_cond_since');
  expect(resync?.params[2]).toEqual({ Thing: [{ columns: ['name', 'n'], where: [['name', '==', 'b']] }] });
});

it('backs off (1 s minimum) when the initial dump never applies, instead of a zero-delay loop (F6, D6)', async () => {
  const { f, warnings } = await setup(plainServer({ Thing: { [ROW1]: { initial: { n: 'not-an-int' } } } }), {
    backoff: { minMs: 1000, maxMs: 8000 },
  });
  await sleep(1000);
  expect(f.connections.length).toBeGreaterThanOrEqual(1);
  expect(f.connections.length).toBeLessThanOrEqual(3);
  expect(warnings.some((w) => w.includes('replica inconsistency'))).toBe(true);
});

it('backs off when a server drops every connection right after the sync (F6)', async () => {
  const { f } = await setup(
    (method, _p, conn) => {
      if (method === 'monitor_cond') return { error: { error: 'unknown database' } };
      if (method === 'get_schema') return { result: FAKE_SCHEMA };
      if (method === 'monitor_cond_since') {
        setTimeout(() => conn.close(), 5);
        return { result: [false, ZERO_UUID, {}] };
      }
      return { error: 'unknown method' };
    },
    { backoff: { minMs: 1000, maxMs: 8000 } },
  );
  await sleep(1000);
  expect(f.connections.length).toBeGreaterThanOrEqual(1);
  expect(f.connections.length).toBeLessThanOrEqual(3);
});

it('accepts a re-created cluster (new cid, low index): minIndex is reset when the cluster id changes (F4)', async () => {
  const { f, c, warnings } = await setup(
    (method, _params, conn) => {
      if (method === 'monitor_cond')
        return {
          result: serverDbUpdate(
            conn.index === 1
              ? { model: 'clustered', index: 1000, cid: CID1 }
              : { model: 'clustered', index: 3, cid: CID2 },
          ),
        };
      if (method === 'set_db_change_aware') return { result: {} };
      if (method === 'monitor_cond_since') return { result: [false, ZERO_UUID, {}] };
      return { error: 'unknown method' };
    },
    { backoff: { minMs: 50, maxMs: 100 } },
  );
  await c.ready();
  f.connections[0]?.close();
  await waitUntil(() => f.connections.length >= 2 && c.state === 'monitoring', {
    description: 'monitoring on the re-created cluster',
  });
  expect(warnings.filter((w) => w.includes('server is stale'))).toEqual([]);
});

it('resetMinIndex() lets a server of the same cluster with a lower index be used again (F4)', async () => {
  const { f, c, warnings } = await setup(
    (method, _params, conn) => {
      if (method === 'monitor_cond')
        return {
          result: serverDbUpdate({ model: 'clustered', index: conn.index === 1 ? 1000 : 3, cid: CID1 }),
        };
      if (method === 'set_db_change_aware') return { result: {} };
      if (method === 'monitor_cond_since') return { result: [false, ZERO_UUID, {}] };
      return { error: 'unknown method' };
    },
    { backoff: { minMs: 50, maxMs: 100 } },
  );
  await c.ready();
  f.connections[0]?.close();
  await waitUntil(() => warnings.some((w) => w.includes('server is stale: index 3 < 1000')), {
    description: 'a stale rejection',
  });
  expect(c.state).not.toBe('monitoring');
  c.resetMinIndex();
  await c.ready();
  expect(c.state).toBe('monitoring');
});

it('an update that fails with any error (a throwing index key) means zero last id, reconnect, full resync (D6)', async () => {
  const L1 = 'cccccccc-0000-4000-8000-000000000001';
  const L2 = 'cccccccc-0000-4000-8000-000000000002';
  const { f, c, warnings } = await setup(
    (method, params, conn) => {
      if (method === 'monitor_cond') return { error: { error: 'unknown database' } };
      if (method === 'get_schema') return { result: FAKE_SCHEMA };
      if (method === 'monitor_cond_since') {
        setTimeout(() => {
          conn.notify('update3', [params[1], L1, { Thing: { [ROW1]: { insert: { name: 'boom', n: 1 } } } }]);
          conn.notify('update3', [params[1], L2, { Thing: { [ROW2]: { insert: { name: 'ok', n: 2 } } } }]);
        }, 50);
        return { result: [false, ZERO_UUID, {}] };
      }
      return { error: 'unknown method' };
    },
    {
      backoff: { minMs: 50, maxMs: 100 },
      indexes: [
        {
          name: 'byName',
          table: 'Thing',
          key: (r) => {
            if (r['name'] === 'boom') throw new Error('index key function bug');
            return r['name'] as string;
          },
        },
      ],
    },
  );
  await c.ready();
  await waitUntil(() => f.connections.length >= 2, { description: 'a reconnect' });
  expect(warnings.some((w) => w.includes('index key function bug'))).toBe(true);
  expect(c.lastTransactionId).toBe(ZERO_UUID);
  expect(c.table('Thing').get(ROW2)).toBeUndefined();
  // the resync asks for everything again (zero last id)
  const resync = f.requests.find((r) => r.connection === 2 && r.method === 'monitor_cond_since');
  expect(resync?.params[3]).toBe(ZERO_UUID);
});

it('keeps a clause on a server column that is not in `columns`; drops only clauses on columns the server lacks (E6)', async () => {
  const { f, c, warnings } = await setup(plainServer(), {
    tables: { Thing: { columns: ['name'], where: false } },
  });
  await c.ready();
  await c.waitForConditionSeqno(c.setCondition('Thing', [where('n', '==', 1), where('colour', '==', 'red')]));
  const change = f.requests.find((r) => r.method === 'monitor_cond_change');
  expect(change?.params[2]).toEqual({ Thing: [{ where: [['n', '==', 1]] }] });
  expect(warnings.join('\n')).not.toContain('Thing.n dropped');
  expect(warnings.join('\n')).toContain('Thing.colour dropped');
});

it('rejects a wrong-cluster server (cid mismatch) without raising minIndex; the right cluster is then used (F2, F5)', async () => {
  const serve =
    (cid: string, index: number): FakeHandler =>
    (method) => {
      if (method === 'monitor_cond') return { result: serverDbUpdate({ model: 'clustered', index, cid }) };
      if (method === 'set_db_change_aware') return { result: {} };
      if (method === 'monitor_cond_since') return { result: [false, ZERO_UUID, {}] };
      return { error: 'unknown method' };
    };
  const wrong = await startFakeOvsdbServer(serve(CID2, 1000));
  const good = await startFakeOvsdbServer(serve(CID1, 5));
  cleanups.push(
    () => wrong.stop(),
    () => good.stop(),
  );
  const c = new OvsdbClient({
    remotes: `${wrong.remote},${good.remote},cid:${CID1}`,
    database: 'Fake',
    tables: { Thing: {} },
    probeIntervalMs: 0,
    shuffleRemotes: false,
    backoff: { minMs: 50, maxMs: 100 },
  });
  cleanups.push(() => c.close());
  const warnings: string[] = [];
  c.on('warning', (w) => warnings.push(w));
  c.start();
  await c.ready();
  expect(c.currentRemote).toBe(good.remote);
  expect(warnings.some((w) => w.includes(`cluster id ${CID2} is not the pinned cid`))).toBe(true);
  expect(warnings.filter((w) => w.includes('server is stale'))).toEqual([]);
});
