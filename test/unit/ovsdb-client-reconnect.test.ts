/**
 * OvsdbClient reconnect and backoff (docs/adr/0015), on a fake clock over in-memory transports:
 * every remote once without delay, then min·2^k capped at max; the backoff resets only after a
 * session that stayed `monitoring` for at least `backoff.maxMs`; connect and handshake timeouts
 * count as failed attempts; `setRemotes` and `close` cancel the pending reconnect.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { OvsdbClient } from '../../src/ovsdb/index.js';
import type { ClientState, OvsdbClientOptions } from '../../src/ovsdb/index.js';
import { FakeOvsdbClock } from '../fakes/fake-ovsdb-clock.js';
import { FakeOvsdbNetwork, standaloneServer } from '../fakes/fake-ovsdb-transport.js';

const A = 'tcp:192.0.2.1:6641';
const B = 'tcp:192.0.2.2:6641';
const C = 'tcp:192.0.2.3:6641';

interface World {
  readonly clock: FakeOvsdbClock;
  readonly network: FakeOvsdbNetwork;
  readonly client: OvsdbClient;
  readonly states: { state: ClientState; at: number }[];
}

const clients: OvsdbClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
});

function world(remotes: string[], options: Partial<OvsdbClientOptions> = {}): World {
  const clock = new FakeOvsdbClock();
  const network = new FakeOvsdbNetwork(clock.now);
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
  clients.push(client);
  const states: World['states'] = [];
  client.on('state', (state) => states.push({ state, at: clock.now() }));
  return { clock, network, client, states };
}

describe('OvsdbClient reconnect backoff', () => {
  it('one remote: 1 s doubling to the 8 s cap', async () => {
    const { clock, network, client } = world([A]);
    client.start();
    await clock.advance(60_000);
    expect(network.delays()).toEqual([1000, 2000, 4000, 8000, 8000, 8000, 8000, 8000, 8000]);
    expect(network.dials.map((d) => d.at)).toEqual([
      0, 1000, 3000, 7000, 15_000, 23_000, 31_000, 39_000, 47_000, 55_000,
    ]);
    expect(client.state).toBe('backoff');
  });

  it('several remotes: each once without delay, then backoff, round robin', async () => {
    const { clock, network, client } = world([A, B, C]);
    client.start();
    await clock.advance(31_000);
    expect(network.dials.map((d) => d.remote)).toEqual([A, B, C, A, B, C, A, B, C]);
    expect(network.delays()).toEqual([0, 0, 1000, 2000, 4000, 8000, 8000, 8000]);
  });

  it('honours backoff.minMs and backoff.maxMs; maxMs below minMs is raised to minMs', async () => {
    const custom = world([A], { backoff: { minMs: 100, maxMs: 250 } });
    custom.client.start();
    await custom.clock.advance(1300);
    expect(custom.network.dials.map((d) => d.at)).toEqual([0, 100, 300, 550, 800, 1050, 1300]);

    const inverted = world([A], { backoff: { minMs: 500, maxMs: 100 } });
    inverted.client.start();
    await inverted.clock.advance(2000);
    expect(inverted.network.delays()).toEqual([500, 500, 500, 500]);
  });

  it('announces each wait as the backoff state before connecting', async () => {
    const { clock, client, states } = world([A]);
    client.start();
    await clock.advance(3000);
    expect(states).toEqual([
      { state: 'connecting', at: 0 },
      { state: 'backoff', at: 0 },
      { state: 'connecting', at: 1000 },
      { state: 'backoff', at: 1000 },
      { state: 'connecting', at: 3000 },
      { state: 'backoff', at: 3000 },
    ]);
  });

  it('a connect that hangs fails after timeouts.connectMs and counts as an attempt', async () => {
    const { clock, network, client } = world([A], { timeouts: { connectMs: 3000 } });
    network.set(A, { kind: 'hang' });
    client.start();
    await clock.advance(9000);
    // dial at 0, gives up at 3000, waits 1 s; dial at 4000, gives up at 7000, waits 2 s; ...
    expect(network.dials.map((d) => [d.at, d.aborted])).toEqual([
      [0, true],
      [4000, true],
      [9000, false],
    ]);
    await clock.advance(6999);
    expect(network.dials).toHaveLength(3);
    await clock.advance(1);
    expect(network.dials.map((d) => d.at)).toEqual([0, 4000, 9000, 16_000]);
  });

  it('a server that never answers the handshake is dropped after timeouts.requestMs', async () => {
    const { clock, network, client } = world([A], { timeouts: { requestMs: 2000 } });
    network.set(A, { kind: 'accept', server: () => undefined });
    client.start();
    await clock.advance(1999);
    expect(client.state).toBe('syncing');
    await clock.advance(1);
    expect(client.state).toBe('backoff');
    expect(network.dials[0]?.transport?.destroyed).toBe(true);
    await clock.advance(1000);
    expect(network.dials.map((d) => d.at)).toEqual([0, 3000]);
  });
});

describe('OvsdbClient backoff reset', () => {
  it('reaches monitoring through the fake server', async () => {
    const { clock, network, client } = world([A]);
    network.set(A, { kind: 'accept', server: standaloneServer });
    client.start();
    await clock.advance(0);
    expect(client.state).toBe('monitoring');
    expect(network.lastTransport.sent.map((m) => m.method)).toEqual([
      'monitor_cond',
      'get_schema',
      'monitor_cond_since',
    ]);
  });

  it('a session that stayed monitoring for backoff.maxMs resets the backoff: next remote at once', async () => {
    const { clock, network, client } = world([A, B]);
    network.set(A, { kind: 'refuse' }).set(B, { kind: 'refuse' });
    client.start();
    await clock.advance(3000); // A@0 B@0 A@1000 B@3000: three failures in a row, the fourth now
    network.set(A, { kind: 'accept', server: standaloneServer });
    await clock.advance(4000); // A@7000 accepted
    expect(client.state).toBe('monitoring');
    expect(network.dials.map((d) => d.at)).toEqual([0, 0, 1000, 3000, 7000]);

    await clock.advance(8000);
    network.lastTransport.peerClose(); // after exactly maxMs of monitoring
    await clock.advance(0);
    // B at once (no delay), and the count starts over: B's refusal is the first failure of a fresh
    // round, so A follows without delay too.
    expect(network.dials.slice(5).map((d) => [d.remote, d.at])).toEqual([
      [B, 15_000],
      [A, 15_000],
    ]);
  });

  it('a session that ended earlier counts as one more failure (no zero-delay loop)', async () => {
    const { clock, network, client } = world([A]);
    network.set(A, { kind: 'accept', server: standaloneServer });
    client.start();
    await clock.advance(0);
    expect(client.state).toBe('monitoring');
    await clock.advance(7999);
    network.lastTransport.peerClose(); // 1 ms short of maxMs
    await clock.advance(0);
    expect(client.state).toBe('backoff');
    await clock.advance(1000);
    expect(client.state).toBe('monitoring');
    network.lastTransport.peerClose(); // at once: second failure in a row
    await clock.advance(2000);
    network.lastTransport.peerClose(); // third
    await clock.advance(4000);
    expect(network.dials.map((d) => d.at)).toEqual([0, 8999, 10_999, 14_999]);
  });

  it('after a reset, failures start again from minMs', async () => {
    const { clock, network, client } = world([A]);
    network.set(A, { kind: 'accept', server: standaloneServer });
    client.start();
    await clock.advance(10_000);
    network.set(A, { kind: 'refuse' });
    network.lastTransport.peerClose();
    await clock.advance(10_000);
    // reconnect at once (10 000, refused), then 1 s, 2 s, 4 s ...
    expect(network.dials.map((d) => d.at)).toEqual([0, 10_000, 11_000, 13_000, 17_000]);
  });
});

describe('OvsdbClient pending reconnects', () => {
  it('close cancels the reconnect timer: nothing is dialed afterwards', async () => {
    const { clock, network, client } = world([A]);
    client.start();
    await clock.advance(0);
    expect(clock.pending()).toEqual([{ dueAt: 1000, delayMs: 1000, unref: false }]);
    await client.close();
    expect(clock.pending()).toEqual([]);
    await clock.advance(60_000);
    expect(network.dials).toHaveLength(1);
    expect(client.state).toBe('closed');
  });

  it('setRemotes during a backoff dials the new list at once and forgets the failures', async () => {
    const { clock, network, client } = world([A]);
    client.start();
    await clock.advance(3500); // A@0, A@1000, A@3000; next wait 4000
    expect(client.setRemotes([B])).toBe(true);
    await clock.advance(0);
    expect(network.dials.map((d) => [d.remote, d.at])).toEqual([
      [A, 0],
      [A, 1000],
      [A, 3000],
      [B, 3500],
    ]);
    await clock.advance(10_000);
    expect(network.delays().slice(3)).toEqual([1000, 2000, 4000]);
  });

  it('a transaction in flight when the probe drops the connection resolves unknown/disconnected', async () => {
    const { clock, network, client } = world([A], { probeIntervalMs: 1000 });
    let answerEcho = true;
    network.set(A, {
      kind: 'accept',
      server: (m, t) => {
        if (m.method === 'echo' && !answerEcho) return;
        if (m.method === 'transact') return; // never answered
        standaloneServer(m, t);
      },
    });
    client.start();
    await clock.advance(0);
    expect(client.state).toBe('monitoring');
    const outcome = client.transact((tx) => tx.insert('Thing', { name: 'x', n: 1 }));
    answerEcho = false;
    // The handshake's bytes count for the first interval (check at 1000); from then on silence:
    // the echo goes out at 2000, unanswered, and the connection is closed at 3000.
    await clock.advance(2999);
    expect(client.state).toBe('monitoring');
    await clock.advance(1);
    await expect(outcome).resolves.toEqual({ status: 'unknown', reason: 'disconnected' });
    expect(client.state).toBe('backoff');
  });

  it('a transaction times out after timeouts.transactMs with unknown/timeout and a cancel', async () => {
    const { clock, network, client } = world([A], { timeouts: { transactMs: 500 } });
    network.set(A, {
      kind: 'accept',
      server: (m, t) => (m.method === 'transact' ? undefined : standaloneServer(m, t)),
    });
    client.start();
    await clock.advance(0);
    const outcome = client.transact((tx) => tx.insert('Thing', { name: 'x', n: 1 }));
    let settled = false;
    void outcome.then(() => (settled = true));
    await clock.advance(499);
    expect(settled).toBe(false);
    await clock.advance(1);
    await expect(outcome).resolves.toEqual({ status: 'unknown', reason: 'timeout' });
    const id = network.lastTransport.requests('transact')[0]?.id;
    expect(network.lastTransport.sent.at(-1)).toEqual({ method: 'cancel', params: [id], id: null });
    expect(client.state).toBe('monitoring');
  });
});
