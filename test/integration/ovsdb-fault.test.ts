/**
 * Behaviour that needs fault injection a real ovsdb-server cannot do, against a FAKE server
 * (test/fakes): method fallback (D1), an update that does not apply (D6), stale cluster members
 * (F4). Also backoff timing against remotes where nothing listens (F6).
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { waitUntil } from '../harness/index.js';
import { FAKE_SCHEMA, serverDbUpdate, startFakeOvsdbServer } from '../fakes/fake-ovsdb-server.js';
import type { FakeOvsdbServer } from '../fakes/fake-ovsdb-server.js';
import { OvsdbClient, ZERO_UUID } from '../../src/ovsdb/index.js';
import type { ClientState, OvsdbClientOptions } from '../../src/ovsdb/index.js';

const ROW1 = 'bbbbbbbb-0000-4000-8000-000000000001';
const LAST_ID = 'cccccccc-0000-4000-8000-000000000001';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function client(fake: { remote: string } | string, extra: Partial<OvsdbClientOptions> = {}): OvsdbClient {
  const c = new OvsdbClient({
    remotes: typeof fake === 'string' ? fake : fake.remote,
    database: 'Fake',
    tables: { Thing: {} },
    backoff: { minMs: 50, maxMs: 200 },
    probeIntervalMs: 0,
    ...extra,
  });
  cleanups.push(() => c.close());
  c.start();
  return c;
}

async function fake(
  handler: Parameters<typeof startFakeOvsdbServer>[0],
  options: Parameters<typeof startFakeOvsdbServer>[1] = {},
): Promise<FakeOvsdbServer> {
  const f = await startFakeOvsdbServer(handler, options);
  cleanups.push(() => f.stop());
  return f;
}

describe('OvsdbClient against a fake server', () => {
  it('falls back monitor_cond_since -> monitor_cond -> monitor on error replies and applies v1 updates (D1, F1 without _Server)', async () => {
    const f = await fake((method, params, conn) => {
      switch (method) {
        case 'get_schema':
          return params[0] === 'Fake' ? { result: FAKE_SCHEMA } : { error: { error: 'unknown database' } };
        case 'monitor':
          setTimeout(
            () =>
              conn.notify('update', [
                params[1],
                { Thing: { [ROW1]: { old: { n: 1 }, new: { name: 'one', n: 2 } } } },
              ]),
            50,
          );
          return { result: { Thing: { [ROW1]: { new: { name: 'one', n: 1 } } } } };
        case 'monitor_cond':
          return params[0] === '_Server'
            ? { error: { error: 'unknown database' } }
            : { error: 'unknown method' };
        default:
          return { error: 'unknown method' };
      }
    });
    const c = client(f);
    await c.ready();
    expect(c.monitorMethod).toBe('monitor');
    expect(f.requests.map((r) => r.method)).toEqual([
      'monitor_cond',
      'get_schema',
      'monitor_cond_since',
      'monitor_cond',
      'monitor',
    ]);
    await waitUntil(() => c.table('Thing').get(ROW1)?.['n'] === 2, { description: 'v1 update applied' });
    expect(c.table('Thing').get(ROW1)).toEqual({ _uuid: ROW1, name: 'one', n: 2 });
  });

  it('on an update that does not apply, forgets the last id, reconnects and resyncs fully (D6)', async () => {
    const f = await fake((method, params, conn) => {
      if (method === 'monitor_cond') return { result: serverDbUpdate({}) };
      if (method === 'set_db_change_aware') return { result: {} };
      if (method === 'monitor_cond_since') {
        if (conn.index === 1) {
          // Modify of a row the client never had: inconsistent.
          setTimeout(
            () =>
              conn.notify('update3', [
                params[1],
                LAST_ID,
                { Thing: { ['dddddddd-0000-4000-8000-000000000009']: { modify: { n: 5 } } } },
              ]),
            50,
          );
        }
        return { result: [false, LAST_ID, { Thing: { [ROW1]: { initial: { name: 'one', n: 1 } } } }] };
      }
      return { error: 'unknown method' };
    });
    const c = client(f);
    const warnings: string[] = [];
    c.on('warning', (w) => warnings.push(w));
    await c.ready();
    expect(c.lastTransactionId).toBe(LAST_ID);
    await waitUntil(() => f.connections.length === 2 && c.state === 'monitoring', {
      description: 'reconnect after inconsistency',
    });
    const second = f.requests.find((r) => r.connection === 2 && r.method === 'monitor_cond_since');
    expect(second?.params[3]).toBe(ZERO_UUID);
    expect(warnings.some((w) => /inconsisten/.test(w))).toBe(true);
    expect(c.table('Thing').all()).toEqual([{ _uuid: ROW1, name: 'one', n: 1 }]);
  });

  it('rejects a clustered server whose index is below one already seen (F4), and a cid mismatch (F5)', async () => {
    const indexes = [10, 5, 12];
    const f = await fake((method, _params, conn) => {
      if (method === 'monitor_cond') {
        return {
          result: serverDbUpdate({
            model: 'clustered',
            connected: true,
            leader: true,
            index: indexes[conn.index - 1] ?? 12,
            cid: 'eeeeeeee-0000-4000-8000-000000000001',
          }),
        };
      }
      if (method === 'set_db_change_aware') return { result: {} };
      if (method === 'monitor_cond_since') {
        if (conn.index === 1) setTimeout(() => conn.close(), 50);
        return { result: [false, ZERO_UUID, {}] };
      }
      return { error: 'unknown method' };
    });
    const c = client(f, { leaderOnly: true });
    const warnings: string[] = [];
    c.on('warning', (w) => warnings.push(w));
    await c.ready();
    await waitUntil(() => f.connections.length === 3 && c.state === 'monitoring', {
      description: 'third connection accepted',
    });
    expect(warnings.some((w) => /stale: index 5 < 10/.test(w))).toBe(true);

    const pinned = client(`${f.remote},cid:eeeeeeee-0000-4000-8000-000000000002`);
    const pinnedWarnings: string[] = [];
    pinned.on('warning', (w) => pinnedWarnings.push(w));
    await waitUntil(() => pinnedWarnings.some((w) => /is not the pinned cid/.test(w)), {
      description: 'cid rejection',
    });
    expect(pinned.state).not.toBe('monitoring');
  });

  it('tries every remote once without delay, then backs off exponentially up to the maximum (F6)', async () => {
    const ports = await Promise.all(
      [0, 1].map(
        () =>
          new Promise<number>((resolve) => {
            const s = net.createServer();
            s.listen(0, '127.0.0.1', () => {
              const port = (s.address() as net.AddressInfo).port;
              s.close(() => resolve(port));
            });
          }),
      ),
    );
    const c = new OvsdbClient({
      remotes: ports.map((p) => `tcp:127.0.0.1:${p}`),
      database: 'Fake',
      tables: { Thing: {} },
      backoff: { minMs: 100, maxMs: 400 },
    });
    cleanups.push(() => c.close());
    const attempts: number[] = [];
    c.on('state', (s: ClientState) => {
      if (s === 'connecting') attempts.push(Date.now());
    });
    c.start();
    await waitUntil(() => attempts.length >= 6, { timeoutMs: 5000, description: 'six attempts' });
    const gaps = attempts.slice(1).map((t, i) => t - (attempts[i] as number));
    // attempt 2 is free (second remote), then 100, 200, 400, 400 ms.
    expect(gaps[0]).toBeLessThan(80);
    expect(gaps[1]).toBeGreaterThanOrEqual(90);
    expect(gaps[2]).toBeGreaterThanOrEqual(190);
    expect(gaps[3]).toBeGreaterThanOrEqual(390);
    expect(gaps[4]).toBeGreaterThanOrEqual(390);
    expect(gaps[4]).toBeLessThan(700);
  });

  it('answers "unknown database" from transact with tryAgain and reconnects (F9)', async () => {
    const f = await fake((method, params) => {
      if (method === 'monitor_cond') return { result: serverDbUpdate({}) };
      if (method === 'set_db_change_aware') return { result: {} };
      if (method === 'monitor_cond_since')
        return { result: [false, ZERO_UUID, { Thing: { [ROW1]: { initial: { name: 'one', n: 1 } } } }] };
      if (method === 'transact') return { error: { error: 'unknown database', details: String(params[0]) } };
      return { error: 'unknown method' };
    });
    const c = client(f);
    await c.ready();
    expect(await c.transact((tx) => tx.comment('x'))).toMatchObject({
      status: 'tryAgain',
      reason: 'unknown-database',
    });
    await waitUntil(() => f.connections.length === 2 && c.state === 'monitoring', {
      description: 'reconnect',
    });
  });

  it('keeps a connection whose slow initial dump trickles in, and uses the initial-sync timeout for it (B3, I3)', async () => {
    const rows = Object.fromEntries(
      Array.from({ length: 2000 }, (_, i) => [
        `bbbbbbbb-0000-4000-8000-${String(i).padStart(12, '0')}`,
        { initial: { name: `t${i}`, n: i } },
      ]),
    );
    const f = await fake(
      (method) => {
        if (method === 'monitor_cond') return { result: serverDbUpdate({}) };
        if (method === 'set_db_change_aware') return { result: {} };
        if (method === 'monitor_cond_since')
          return { trickle: [false, ZERO_UUID, { Thing: rows }], overMs: 3000 };
        return { error: 'unknown method' };
      },
      { answerEcho: false },
    );
    const c = client(f, { probeIntervalMs: 1000, timeouts: { requestMs: 500, initialSyncMs: 10_000 } });
    await c.ready();
    expect(c.table('Thing').size).toBe(2000);
    expect(f.connections).toHaveLength(1);
    expect(f.requests.filter((r) => r.method === 'echo')).toHaveLength(0);
  });

  it('survives a throwing listener and emits one change event per message, none dropped (I1, I2)', async () => {
    let push: ((n: number) => void) | undefined;
    const f = await fake((method, params, conn) => {
      if (method === 'monitor_cond') return { result: serverDbUpdate({}) };
      if (method === 'set_db_change_aware') return { result: {} };
      if (method === 'monitor_cond_since') {
        push = (n) => {
          for (let i = 0; i < n; i++)
            conn.notify('update3', [
              params[1],
              ZERO_UUID,
              { Thing: { [ROW1]: i === 0 ? { insert: { name: 'x', n: 0 } } : { modify: { n: i } } } },
            ]);
        };
        return { result: [false, ZERO_UUID, {}] };
      }
      return { error: 'unknown method' };
    });
    const c = client(f);
    await c.ready();
    let events = 0;
    c.on('change', () => {
      events++;
      throw new Error('listener bug');
    });
    const before = c.seqno;
    push?.(5000);
    await waitUntil(() => c.seqno === before + 5000, { description: '5000 updates applied' });
    expect(events).toBe(5000);
    expect(c.state).toBe('monitoring');
    expect(c.table('Thing').get(ROW1)?.['n']).toBe(4999);
  });
});
