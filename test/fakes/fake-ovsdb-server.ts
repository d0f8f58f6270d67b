/**
 * FAKE ovsdb-server for fault injection that a real server cannot be made to do: answering
 * "unknown method" to monitor_cond_since/monitor_cond (servers older than 2.6/2.12, checklist D1),
 * sending an update that does not apply (D6), or presenting `_Server` rows with chosen cluster
 * indexes (F4). Everything else is tested against real servers.
 *
 * It listens on a loopback TCP port and hands each JSON-RPC request to a handler that returns the
 * reply (`{ result }` or `{ error }`) or `undefined` for no reply.
 */
import net from 'node:net';
import { JsonStreamFramer, stringifyJson } from '../../src/ovsdb/index.js';

export type FakeReply =
  { result: unknown } | { error: unknown } | { trickle: unknown; overMs: number } | undefined;

export interface FakeConnection {
  /** 1-based number of the connection since the server started. */
  readonly index: number;
  notify(method: string, params: unknown[]): void;
  close(): void;
}

export type FakeHandler = (method: string, params: unknown[], conn: FakeConnection) => FakeReply;

export interface FakeOvsdbServer {
  readonly remote: string;
  readonly requests: { connection: number; method: string; params: unknown[] }[];
  readonly connections: FakeConnection[];
  stop(): Promise<void>;
}

export interface FakeOptions {
  /** Default true; false makes the fake ignore echo requests (a server too busy to answer). */
  readonly answerEcho?: boolean;
}

export async function startFakeOvsdbServer(
  handler: FakeHandler,
  options: FakeOptions = {},
): Promise<FakeOvsdbServer> {
  const requests: FakeOvsdbServer['requests'] = [];
  const connections: FakeConnection[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const framer = new JsonStreamFramer();
    const send = (message: object): void => {
      if (!socket.destroyed) socket.write(stringifyJson(message));
    };
    const conn: FakeConnection = {
      index: connections.length + 1,
      notify: (method, params) => send({ method, params, id: null }),
      close: () => socket.destroy(),
    };
    connections.push(conn);
    socket.on('data', (chunk: Buffer) => {
      for (const message of framer.push(chunk)) {
        const m = message as { method?: string; params?: unknown[]; id?: unknown };
        if (typeof m.method !== 'string') continue;
        const params = m.params ?? [];
        requests.push({ connection: conn.index, method: m.method, params });
        if (m.id === null || m.id === undefined) continue;
        if (m.method === 'echo') {
          if (options.answerEcho === false) continue;
          send({ id: m.id, result: params, error: null });
          continue;
        }
        const reply = handler(m.method, params, conn);
        if (reply === undefined) continue;
        if ('trickle' in reply) {
          trickle(socket, stringifyJson({ id: m.id, result: reply.trickle, error: null }), reply.overMs);
          continue;
        }
        send(
          'result' in reply
            ? { id: m.id, result: reply.result, error: null }
            : { id: m.id, result: null, error: reply.error },
        );
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return {
    remote: `tcp:127.0.0.1:${address.port}`,
    requests,
    connections,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Sends `text` in 20 slices spread over `overMs` (a slow server or link). */
function trickle(socket: net.Socket, text: string, overMs: number): void {
  const bytes = Buffer.from(text);
  const slices = 20;
  const size = Math.ceil(bytes.length / slices);
  for (let i = 0; i < slices; i++) {
    setTimeout(
      () => {
        if (!socket.destroyed) socket.write(bytes.subarray(i * size, (i + 1) * size));
      },
      (overMs * i) / (slices - 1),
    );
  }
}

/** A one-table schema for fake servers. */
export const FAKE_SCHEMA = {
  name: 'Fake',
  version: '1.0.0',
  tables: { Thing: { columns: { name: { type: 'string' }, n: { type: 'integer' } } } },
};

/** `_Server.Database` initial update for the fake's database. */
export function serverDbUpdate(row: {
  model?: string;
  connected?: boolean;
  leader?: boolean;
  index?: number;
  cid?: string;
}): unknown {
  return {
    Database: {
      'aaaaaaaa-0000-4000-8000-000000000001': {
        initial: {
          name: 'Fake',
          model: row.model ?? 'standalone',
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
