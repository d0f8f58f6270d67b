/**
 * OvsdbClient sessions over in-memory transports (fake clock, fake server): the `_Server` checks
 * that reject a server and move to the next remote, the monitor method fallback, updates and
 * resync, condition changes and the lock. Timing-free counterparts of the integration tests
 * against real servers, for the paths a real server will not take on demand.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { OvsdbClient, where } from '../../src/ovsdb/index.js';
import type { OvsdbClientOptions } from '../../src/ovsdb/index.js';
import { FakeOvsdbClock } from '../fakes/fake-ovsdb-clock.js';
import type { FakeServerBehaviour, FakeTransport, SentMessage } from '../fakes/fake-ovsdb-transport.js';
import { FAKE_SCHEMA, FakeOvsdbNetwork, standaloneServer } from '../fakes/fake-ovsdb-transport.js';

const A = 'tcp:192.0.2.1:6641';
const B = 'tcp:192.0.2.2:6641';
const CID = 'cccccccc-0000-4000-8000-000000000001';
const ROW = 'aaaaaaaa-0000-4000-8000-000000000001';
const TXN1 = 'bbbbbbbb-0000-4000-8000-000000000001';
const TXN2 = 'bbbbbbbb-0000-4000-8000-000000000002';

const clients: OvsdbClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
});

function world(remotes: string[], options: Partial<OvsdbClientOptions> = {}) {
  const clock = new FakeOvsdbClock();
  const network = new FakeOvsdbNetwork(clock.now);
  const warnings: string[] = [];
  const client = new OvsdbClient({
    remotes,
    database: 'Fake',
    tables: { Thing: {} },
    shuffleRemotes: false,
    probeIntervalMs: 0,
    now: clock.now,
    timers: clock,
    dial: network.dial,
    ...options,
  });
  client.on('warning', (w) => warnings.push(w));
  clients.push(client);
  return { clock, network, client, warnings };
}

/** A `_Server.Database` row for the Fake database, in update2 `initial` form. */
function serverRow(row: {
  model?: string;
  connected?: boolean;
  leader?: boolean;
  index?: number;
  cid?: string;
}) {
  return {
    Database: {
      [ROW]: {
        initial: {
          name: 'Fake',
          model: row.model ?? 'clustered',
          connected: row.connected ?? true,
          leader: row.leader ?? true,
          schema: JSON.stringify(FAKE_SCHEMA),
          ...(row.index === undefined ? {} : { index: row.index }),
          ...(row.cid === undefined ? {} : { cid: ['uuid', row.cid] }),
        },
      },
    },
  };
}

/** A server with `_Server` (the given row), change-aware, answering the data monitor with `dump`. */
function clusteredServer(row: Parameters<typeof serverRow>[0], dump: unknown = {}): FakeServerBehaviour {
  return (m, t) => {
    if (m.id === null || m.id === undefined) return;
    const params = m.params ?? [];
    if (m.method === 'monitor_cond' && params[0] === '_Server') t.reply(m.id, serverRow(row));
    else if (m.method === 'set_db_change_aware') t.reply(m.id, {});
    else if (m.method === 'monitor_cond_since') t.reply(m.id, [false, TXN1, dump]);
    else standaloneServer(m, t);
  };
}

const methods = (t: FakeTransport): (string | undefined)[] =>
  t.sent.filter((m) => m.id !== null && m.id !== undefined).map((m) => m.method);

describe('OvsdbClient _Server checks', () => {
  it('accepts a connected leader and reads the schema from the _Server row', async () => {
    const { clock, network, client } = world([A]);
    network.set(A, { kind: 'accept', server: clusteredServer({ index: 5 }) });
    client.start();
    await clock.advance(0);
    expect(client.state).toBe('monitoring');
    expect(methods(network.lastTransport)).toEqual([
      'monitor_cond',
      'set_db_change_aware',
      'monitor_cond_since',
    ]);
    expect(client.lastTransactionId).toBe(TXN1);
    expect(client.serverHasTable('Thing')).toBe(true);
  });

  it('rejects a follower with leaderOnly and moves to the next remote at once', async () => {
    const { clock, network, client, warnings } = world([A, B]);
    network
      .set(A, { kind: 'accept', server: clusteredServer({ leader: false }) })
      .set(B, { kind: 'accept', server: clusteredServer({ leader: true }) });
    client.start();
    await clock.advance(0);
    expect(network.dials.map((d) => [d.remote, d.at])).toEqual([
      [A, 0],
      [B, 0],
    ]);
    expect(client.currentRemote).toBe(B);
    expect(warnings).toContain(`${A}: server is not the Fake cluster leader (leaderOnly)`);
    expect(network.dials[0]?.transport?.destroyed).toBe(true);
  });

  it('accepts a follower without leaderOnly, but never a disconnected member', async () => {
    const follower = world([A], { leaderOnly: false });
    follower.network.set(A, { kind: 'accept', server: clusteredServer({ leader: false }) });
    follower.client.start();
    await follower.clock.advance(0);
    expect(follower.client.state).toBe('monitoring');

    const cut = world([A], { leaderOnly: false });
    cut.network.set(A, { kind: 'accept', server: clusteredServer({ connected: false }) });
    cut.client.start();
    await cut.clock.advance(0);
    expect(cut.client.state).toBe('backoff');
    expect(cut.warnings).toContain(`${A}: server is not connected to the Fake cluster`);
  });

  it('rejects a stale server (index below one seen) until resetMinIndex', async () => {
    const { clock, network, client, warnings } = world([A, B]);
    network
      .set(A, { kind: 'accept', server: clusteredServer({ index: 10, cid: CID }) })
      .set(B, { kind: 'accept', server: clusteredServer({ index: 7, cid: CID }) });
    client.start();
    await clock.advance(0);
    expect(client.currentRemote).toBe(A);
    network.set(A, { kind: 'refuse' });
    await clock.advance(8000);
    network.lastTransport.peerClose(); // a stable session ends: B at once
    await clock.advance(0);
    expect(warnings).toContain(`${B}: server is stale: index 7 < 10 seen before`);
    client.resetMinIndex();
    await clock.advance(10_000);
    expect(client.currentRemote).toBe(B);
  });

  it('a pinned cluster id rejects a server of another cluster', async () => {
    const { clock, network, client, warnings } = world([`${A},cid:${CID}`]);
    network.set(A, {
      kind: 'accept',
      server: clusteredServer({ cid: 'dddddddd-0000-4000-8000-000000000001' }),
    });
    client.start();
    await clock.advance(0);
    expect(client.state).toBe('backoff');
    expect(warnings.some((w) => w.includes(`is not the pinned cid ${CID}`))).toBe(true);
  });

  it('drops a monitoring session when the member loses leadership', async () => {
    const { clock, network, client, warnings } = world([A]);
    network.set(A, { kind: 'accept', server: clusteredServer({}) });
    client.start();
    await clock.advance(0);
    expect(client.state).toBe('monitoring');
    network.lastTransport.receive({
      method: 'update2',
      params: ['server-1', { Database: { [ROW]: { modify: { leader: false } } } }],
      id: null,
    });
    expect(client.state).toBe('backoff');
    expect(warnings).toContain(`${A}: reconnecting: server is not the Fake cluster leader (leaderOnly)`);
  });
});

describe('OvsdbClient data monitor', () => {
  it('falls back from monitor_cond_since to monitor_cond to monitor on error replies', async () => {
    const { clock, network, client } = world([A]);
    network.set(A, {
      kind: 'accept',
      server: (m, t) => {
        if (m.method === 'monitor_cond_since') t.replyError(m.id, 'unknown method');
        else if (m.method === 'monitor_cond' && m.params?.[0] === 'Fake')
          t.replyError(m.id, 'unknown method');
        else if (m.method === 'monitor') t.reply(m.id, { Thing: { [ROW]: { new: { name: 'a', n: 1 } } } });
        else standaloneServer(m, t);
      },
    });
    client.start();
    await clock.advance(0);
    expect(client.state).toBe('monitoring');
    expect(client.monitorMethod).toBe('monitor');
    expect(methods(network.lastTransport)).toEqual([
      'monitor_cond',
      'get_schema',
      'monitor_cond_since',
      'monitor_cond',
      'monitor',
    ]);
    expect(client.table('Thing').get(ROW)?.['name']).toBe('a');
  });

  it('applies update3, remembers its transaction id and resumes from it after a reconnect', async () => {
    const { clock, network, client } = world([A]);
    network.set(A, { kind: 'accept', server: standaloneServer });
    client.start();
    await clock.advance(0);
    const changes: number[] = [];
    client.on('change', () => changes.push(client.seqno));
    network.lastTransport.receive({
      method: 'update3',
      params: ['data-1', TXN2, { Thing: { [ROW]: { insert: { name: 'x', n: 2 } } } }],
      id: null,
    });
    expect(client.table('Thing').get(ROW)?.['n']).toBe(2);
    expect(client.lastTransactionId).toBe(TXN2);
    expect(changes).toHaveLength(1);
    network.lastTransport.peerClose();
    await clock.advance(1000);
    const resumed = network.lastTransport.requests('monitor_cond_since')[0] as SentMessage;
    expect(resumed.params?.[3]).toBe(TXN2);
  });

  it('an update that does not apply forgets the transaction id and resyncs in full', async () => {
    const { clock, network, client } = world([A]);
    network.set(A, { kind: 'accept', server: standaloneServer });
    client.start();
    await clock.advance(0);
    network.lastTransport.receive({
      method: 'update3',
      params: ['data-1', TXN2, { Thing: { [ROW]: { modify: { n: 3 } } } }], // no such row
      id: null,
    });
    expect(client.state).toBe('backoff');
    expect(client.lastTransactionId).toBe('00000000-0000-0000-0000-000000000000');
    await clock.advance(1000);
    const again = network.lastTransport.requests('monitor_cond_since')[0] as SentMessage;
    expect(again.params?.[3]).toBe('00000000-0000-0000-0000-000000000000');
  });

  it('monitor_canceled restarts the session on the same connection', async () => {
    const { clock, network, client } = world([A]);
    network.set(A, { kind: 'accept', server: standaloneServer });
    client.start();
    await clock.advance(0);
    network.lastTransport.receive({ method: 'monitor_canceled', params: ['data-1'], id: null });
    await clock.advance(0);
    expect(network.dials).toHaveLength(1);
    expect(client.state).toBe('monitoring');
    expect(network.lastTransport.requests('monitor_cond_since')).toHaveLength(2);
  });
});

describe('OvsdbClient conditions and lock', () => {
  it('sends one monitor_cond_change at a time and coalesces later changes', async () => {
    const { clock, network, client } = world([A], { tables: { Thing: { where: false } } });
    const held: SentMessage[] = [];
    network.set(A, {
      kind: 'accept',
      server: (m, t) => (m.method === 'monitor_cond_change' ? void held.push(m) : standaloneServer(m, t)),
    });
    client.start();
    await clock.advance(0);
    const first = client.setCondition('Thing', [where('name', '==', 'a')]);
    const second = client.setCondition('Thing', [where('name', '==', 'b')]);
    const third = client.setCondition('Thing', [where('name', '==', 'c')]);
    expect([first, second, third]).toEqual([1, 2, 2]);
    expect(held).toHaveLength(1);
    const done = client.waitForConditionSeqno(third);
    network.lastTransport.reply(held[0]?.id, {});
    expect(client.conditionSeqno).toBe(1);
    expect(held).toHaveLength(2);
    expect(held[1]?.params?.[2]).toEqual({ Thing: [{ where: [['name', '==', 'c']] }] });
    network.lastTransport.reply(held[1]?.id, {});
    await done;
    expect(client.conditionSeqno).toBe(2);
  });

  it('requests the lock on every connection; transact asserts it and answers notLocked without it', async () => {
    const { clock, network, client } = world([A], { lock: 'plug' });
    let grant = false;
    network.set(A, {
      kind: 'accept',
      server: (m, t) => {
        if (m.method === 'lock') t.reply(m.id, { locked: grant });
        else if (m.method === 'transact') t.reply(m.id, [{}, { uuid: ['uuid', ROW] }]);
        else standaloneServer(m, t);
      },
    });
    const events: string[] = [];
    client.on('locked', () => events.push('locked')).on('lockLost', () => events.push('lockLost'));
    client.start();
    await clock.advance(0);
    expect(client.hasLock).toBe(false);
    await expect(client.transact((tx) => void tx.insert('Thing', { name: 'x' }))).resolves.toMatchObject({
      status: 'notLocked',
    });
    network.lastTransport.receive({ method: 'locked', params: ['plug'], id: null });
    expect(client.hasLock).toBe(true);
    const outcome = await client.transact((tx) => void tx.insert('Thing', { name: 'x' }));
    expect(outcome.status).toBe('success');
    const ops = network.lastTransport.requests('transact')[0]?.params ?? [];
    expect(ops[1]).toEqual({ op: 'assert', lock: 'plug' });
    network.lastTransport.receive({ method: 'stolen', params: ['plug'], id: null });
    expect(events).toEqual(['locked', 'lockLost']);
    grant = true;
    network.lastTransport.peerClose();
    await clock.advance(1000);
    expect(client.hasLock).toBe(true);
    expect(events).toEqual(['locked', 'lockLost', 'locked']);
  });
});
