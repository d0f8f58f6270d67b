/**
 * RpcConnection timing, on a fake clock over an in-memory transport: connect timeout, request
 * timeouts and late replies, the inactivity probe (echo after one silent interval, close after a
 * second, one I/O turn of grace), echo answers, backpressure and close. No socket, no real time.
 */
import { describe, expect, it } from 'vitest';
import {
  ConnectionClosedError,
  OvsdbRpcError,
  RpcCanceledError,
  RpcConnection,
  RpcTimeoutError,
  parseRemote,
} from '../../src/ovsdb/index.js';
import type { OvsdbLogger, RpcConnectionOptions, RpcDialer } from '../../src/ovsdb/index.js';
import { FakeOvsdbClock, flushPromises } from '../fakes/fake-ovsdb-clock.js';
import type { FakeTransport } from '../fakes/fake-ovsdb-transport.js';
import { FakeOvsdbNetwork } from '../fakes/fake-ovsdb-transport.js';

const TCP = 'tcp:192.0.2.1:6641';

interface Opened {
  readonly conn: RpcConnection;
  readonly transport: FakeTransport;
  readonly clock: FakeOvsdbClock;
  readonly closes: Error[];
  readonly logs: { level: string; obj: object; msg: string | undefined }[];
}

function recordingLogger(logs: Opened['logs']): OvsdbLogger {
  const at =
    (level: string) =>
    (obj: object, msg?: string): void =>
      void logs.push({ level, obj, msg });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Opens a connection to `remote` on a fake network whose server says nothing unless told. */
async function open(remote = TCP, options: RpcConnectionOptions = {}): Promise<Opened> {
  const clock = new FakeOvsdbClock(1_000_000);
  const network = new FakeOvsdbNetwork(clock.now).set(remote, { kind: 'accept', server: () => undefined });
  const closes: Error[] = [];
  const logs: Opened['logs'] = [];
  const conn = await RpcConnection.open(parseRemote(remote), {
    timers: clock,
    dial: network.dial,
    logger: recordingLogger(logs),
    onClose: (e) => closes.push(e),
    ...options,
  });
  return { conn, transport: network.lastTransport, clock, closes, logs };
}

describe('RpcConnection.open', () => {
  it('gives up after connectTimeoutMs exactly, aborting the dial', async () => {
    const clock = new FakeOvsdbClock();
    const network = new FakeOvsdbNetwork(clock.now).set(TCP, { kind: 'hang' });
    let settled: unknown;
    RpcConnection.open(parseRemote(TCP), { timers: clock, dial: network.dial, connectTimeoutMs: 2500 }).then(
      () => (settled = 'connected'),
      (e: unknown) => (settled = e),
    );
    await clock.advance(2499);
    expect(settled).toBeUndefined();
    expect(network.dials[0]?.aborted).toBe(false);
    await clock.advance(1);
    expect(settled).toBeInstanceOf(ConnectionClosedError);
    expect((settled as Error).message).toContain(`${TCP}`);
    expect((settled as Error).message).toContain('connect timed out after 2500 ms');
    expect(network.dials[0]?.aborted).toBe(true);
  });

  it('defaults the connect timeout to 10 s', async () => {
    const clock = new FakeOvsdbClock();
    const network = new FakeOvsdbNetwork(clock.now).set(TCP, { kind: 'hang' });
    const opening = RpcConnection.open(parseRemote(TCP), { timers: clock, dial: network.dial });
    opening.catch(() => undefined);
    expect(clock.pending()).toEqual([{ dueAt: 10_000, delayMs: 10_000, unref: false }]);
    await clock.advance(10_000);
    await expect(opening).rejects.toThrow(/connect timed out after 10000 ms/);
  });

  it('names the remote when the dial fails, and leaves no timer behind', async () => {
    const clock = new FakeOvsdbClock();
    const network = new FakeOvsdbNetwork(clock.now).set(TCP, { kind: 'refuse', message: 'ECONNREFUSED' });
    await expect(RpcConnection.open(parseRemote(TCP), { timers: clock, dial: network.dial })).rejects.toThrow(
      ConnectionClosedError,
    );
    expect(clock.pending()).toEqual([]);
  });

  it('hands an ssl dial the TLS material, also when a function provides it', async () => {
    const clock = new FakeOvsdbClock();
    const given: unknown[] = [];
    const network = new FakeOvsdbNetwork(clock.now).set('ssl:192.0.2.1:6642', {
      kind: 'accept',
      server: () => undefined,
    });
    const dial: RpcDialer = (endpoint, material) => {
      given.push(material);
      return network.dial(endpoint, material);
    };
    const material = { ca: 'CA', cert: 'CERT', key: 'KEY' };
    for (const tls of [material, () => Promise.resolve(material)]) {
      const conn = await RpcConnection.open(parseRemote('ssl:192.0.2.1:6642'), { timers: clock, dial, tls });
      conn.close();
    }
    expect(given).toEqual([material, material]);
  });

  it('refuses an ssl remote without TLS options before dialing', async () => {
    const clock = new FakeOvsdbClock();
    const network = new FakeOvsdbNetwork(clock.now);
    await expect(
      RpcConnection.open(parseRemote('ssl:192.0.2.1:6642'), { timers: clock, dial: network.dial }),
    ).rejects.toThrow(/needs tls options/);
    expect(network.dials).toEqual([]);
  });
});

describe('RpcConnection requests', () => {
  it('times a request out after exactly timeoutMs and drops its late reply quietly', async () => {
    const { conn, transport, clock, logs } = await open();
    let outcome: unknown;
    conn.request('transact', ['Fake'], { timeoutMs: 300 }).then(
      (r) => (outcome = r),
      (e: unknown) => (outcome = e),
    );
    const id = transport.requests('transact')[0]?.id;
    await clock.advance(299);
    expect(outcome).toBeUndefined();
    expect(conn.outstanding).toBe(1);
    await clock.advance(1);
    expect(outcome).toBeInstanceOf(RpcTimeoutError);
    expect(conn.outstanding).toBe(0);
    transport.reply(id, [{}]);
    await flushPromises();
    expect(logs.filter((l) => l.msg === 'late reply dropped')).toHaveLength(1);
    expect(conn.isClosed).toBe(false);
  });

  it('arms no timer for a request without timeoutMs, and cancels the timer of an answered one', async () => {
    const { conn, transport, clock } = await open('unix:/run/fake.sock');
    void conn.request('list_dbs', []);
    expect(clock.pending()).toEqual([]);
    const answered = conn.request('get_schema', ['Fake'], { timeoutMs: 1000 });
    expect(clock.pending()).toHaveLength(1);
    transport.reply(transport.requests('get_schema')[0]?.id, { name: 'Fake' });
    await expect(answered).resolves.toEqual({ name: 'Fake' });
    expect(clock.pending()).toEqual([]);
  });

  it('cancel sends the cancel notification, rejects locally and stops the timer', async () => {
    const { conn, transport, clock } = await open('unix:/run/fake.sock');
    const reply = conn.request('transact', ['Fake'], { timeoutMs: 1000 });
    conn.cancel(reply);
    await expect(reply).rejects.toBeInstanceOf(RpcCanceledError);
    const id = transport.requests('transact')[0]?.id;
    expect(transport.sent.at(-1)).toEqual({ method: 'cancel', params: [id], id: null });
    expect(clock.pending()).toEqual([]);
  });

  it('close rejects what is outstanding, cancels every timer and reports once', async () => {
    const { conn, transport, clock, closes } = await open();
    const a = conn.request('transact', ['Fake'], { timeoutMs: 1000 });
    const b = conn.request('transact', ['Fake']);
    conn.close('test over');
    await expect(a).rejects.toThrow(/test over/);
    await expect(b).rejects.toBeInstanceOf(ConnectionClosedError);
    expect(clock.pending()).toEqual([]);
    expect(transport.destroyed).toBe(true);
    expect(closes).toHaveLength(1);
    // After close, a request fails at once and writes nothing.
    const before = transport.sent.length;
    await expect(conn.request('echo', [])).rejects.toThrow(/test over/);
    expect(transport.sent).toHaveLength(before);
  });

  it('answers the server echo at once and swallows replies to its own probe', async () => {
    const { conn, transport, closes } = await open();
    transport.receive({ method: 'echo', params: ['ping'], id: 'x7' });
    expect(transport.sent.at(-1)).toEqual({ result: ['ping'], error: null, id: 'x7' });
    expect(conn.echoRequestsAnswered).toBe(1);
    transport.receive({ result: [], error: null, id: 'echo' });
    expect(conn.isClosed).toBe(false);
    expect(closes).toEqual([]);
  });

  it('answers an unknown server request with an error and drops replies with ids it never used', async () => {
    const { conn, transport, logs } = await open('unix:/run/fake.sock');
    transport.receive({ method: 'steal_everything', params: [], id: 3 });
    expect(transport.sent.at(-1)).toEqual({ result: null, error: 'unknown method', id: 3 });
    transport.reply(99, {});
    transport.reply('x', {});
    expect(logs.filter((l) => l.level === 'debug').map((l) => l.msg)).toEqual([
      'reply for unknown request id dropped',
      'reply with an id we never used; dropped',
    ]);
    expect(conn.isClosed).toBe(false);
  });

  it('delivers notifications in order before a reply in the same chunk, and survives a throwing handler', async () => {
    const seen: string[] = [];
    const { conn, transport, logs } = await open('unix:/run/fake.sock', {
      onNotification: (method) => {
        seen.push(method);
        if (method === 'boom') throw new Error('handler bug');
      },
    });
    conn.call('transact', [], {}, () => seen.push('reply'));
    const id = transport.requests('transact')[0]?.id;
    transport.receive(
      '{"method":"update","params":[],"id":null}{"method":"boom","params":[],"id":null}' +
        `{"id":${String(id)},"result":[],"error":null}`,
    );
    expect(seen).toEqual(['update', 'boom', 'reply']);
    expect(logs.filter((l) => l.level === 'error').map((l) => l.msg)).toEqual(['notification handler threw']);
  });

  it('an error reply rejects with OvsdbRpcError; malformed data closes the connection', async () => {
    const { conn, transport, closes } = await open('unix:/run/fake.sock');
    const refused = conn.request('get_schema', ['Nope']);
    transport.replyError(transport.requests('get_schema')[0]?.id, 'unknown database');
    await expect(refused).rejects.toBeInstanceOf(OvsdbRpcError);
    transport.receive('[1, 2]');
    expect(conn.isClosed).toBe(true);
    expect(closes[0]?.message).toMatch(/JSON-RPC message is not an object/);

    const second = await open('unix:/run/fake.sock');
    second.transport.receive('{"id": nope}');
    expect(second.conn.isClosed).toBe(true);
    expect(second.closes).toHaveLength(1);
  });

  it('a transport error closes the connection and rejects what is outstanding', async () => {
    const { conn, transport, closes } = await open('unix:/run/fake.sock');
    const pending = conn.request('transact', []);
    transport.fail(new Error('EPIPE'));
    await expect(pending).rejects.toThrow(/EPIPE/);
    expect(closes).toHaveLength(1);
  });

  it('queues writes while the transport wants a drain and flushes them in order', async () => {
    const { conn, transport } = await open('unix:/run/fake.sock');
    void conn.request('a', []);
    transport.writableNeedDrain = true;
    void conn.request('b', []);
    conn.notify('c', []);
    expect(transport.sent.map((m) => m.method)).toEqual(['a']);
    transport.drain();
    expect(transport.sent.map((m) => m.method)).toEqual(['a', 'b', 'c']);
  });
});

describe('RpcConnection inactivity probe', () => {
  it('sends one echo after a silent interval and closes after a second one (default 5 s)', async () => {
    const { conn, transport, clock, closes, logs } = await open();
    expect(clock.pending()).toEqual([{ dueAt: 1_005_000, delayMs: 5000, unref: true }]);
    await clock.advance(4999);
    expect(conn.probesSent).toBe(0);
    await clock.advance(1);
    expect(conn.probesSent).toBe(1);
    expect(transport.sent.at(-1)).toEqual({ method: 'echo', params: [], id: 'echo' });
    await clock.advance(4999);
    expect(conn.isClosed).toBe(false);
    await clock.advance(1);
    expect(conn.isClosed).toBe(true);
    expect(conn.probesSent).toBe(1);
    expect(closes.map((e) => e.message)).toEqual([
      `connection to ${TCP} closed: inactivity probe failed after 10000 ms`,
    ]);
    expect(closes[0]).toBeInstanceOf(ConnectionClosedError);
    expect(logs.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([
      'no data from OVSDB server; inactivity probe failed',
    ]);
    expect(transport.destroyed).toBe(true);
    expect(clock.pending()).toEqual([]);
  });

  it('counts any received byte as activity: a chatty server is never probed', async () => {
    const { conn, transport, clock } = await open(TCP, { probeIntervalMs: 2000 });
    for (let i = 0; i < 10; i++) {
      await clock.advance(1999);
      transport.receive({ method: 'update', params: ['m', {}], id: null });
    }
    expect(conn.probesSent).toBe(0);
    expect(conn.isClosed).toBe(false);
  });

  it('an answer to the echo keeps the connection; silence is measured again from there', async () => {
    const { conn, transport, clock } = await open(TCP, { probeIntervalMs: 1000 });
    await clock.advance(1000);
    expect(conn.probesSent).toBe(1);
    transport.reply('echo', []);
    await clock.advance(1000); // activity seen: rearmed, no probe
    expect(conn.probesSent).toBe(1);
    await clock.advance(1000); // silent interval: second probe
    expect(conn.probesSent).toBe(2);
    await clock.advance(1000);
    expect(conn.isClosed).toBe(true);
  });

  it('lets one I/O turn through before acting: data read in that turn counts', async () => {
    const { conn, transport, clock } = await open(TCP, { probeIntervalMs: 1000 });
    clock.fireNext(); // the probe timer fires after a silent interval ...
    expect(clock.pendingIo).toBe(1);
    transport.receive({ method: 'update', params: ['m', {}], id: null }); // ... bytes queued meanwhile
    await clock.runIo();
    expect(conn.probesSent).toBe(0);
    expect(clock.pending()).toEqual([{ dueAt: 1_002_000, delayMs: 1000, unref: true }]);
  });

  it('clamps the interval to at least 1 s', async () => {
    const { conn, clock } = await open(TCP, { probeIntervalMs: 10 });
    expect(clock.pending()).toEqual([{ dueAt: 1_001_000, delayMs: 1000, unref: true }]);
    await clock.advance(2000);
    expect(conn.isClosed).toBe(true);
  });

  it('is off with probeIntervalMs 0 and always off on unix sockets', async () => {
    for (const [remote, options] of [
      [TCP, { probeIntervalMs: 0 }],
      ['unix:/run/fake.sock', {}],
      ['unix:/run/fake.sock', { probeIntervalMs: 1000 }],
    ] as const) {
      const { conn, clock } = await open(remote, options);
      expect(clock.pending()).toEqual([]);
      await clock.advance(3_600_000);
      expect(conn.isClosed).toBe(false);
      expect(conn.probesSent).toBe(0);
    }
  });

  it('rejects a negative interval', async () => {
    await expect(open(TCP, { probeIntervalMs: -1 })).rejects.toThrow(RangeError);
  });
});
