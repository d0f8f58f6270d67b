/**
 * FAKE in-memory transport for src/ovsdb (`RpcTransport`, `RpcDialer`): no socket, no real time.
 * The test plays the server: it sees every JSON-RPC message the client wrote (`sent`, decoded)
 * and answers with `receive`. Events are delivered synchronously, so that, with the fake clock,
 * what happens when is decided by the test alone.
 *
 * `FakeOvsdbNetwork` is the dialer: each remote either refuses, never answers (a connect that
 * hangs), or accepts, in which case a `FakeServerBehaviour` answers requests on the new transport.
 */
import type { PendingTransport, RemoteEndpoint, RpcDialer, RpcTransport } from '../../src/ovsdb/index.js';
import { JsonStreamFramer, stringifyJson } from '../../src/ovsdb/index.js';
import { FAKE_SCHEMA } from './fake-ovsdb-server.js';

type Listeners = {
  data: ((chunk: Buffer) => void)[];
  error: ((error: Error) => void)[];
  close: (() => void)[];
  drain: (() => void)[];
};

/** A JSON-RPC message as the client wrote it. */
export interface SentMessage {
  readonly method?: string;
  readonly params?: unknown[];
  readonly id?: unknown;
  readonly result?: unknown;
  readonly error?: unknown;
}

export class FakeTransport implements RpcTransport {
  /** Decoded messages the client wrote, in order. */
  readonly sent: SentMessage[] = [];
  /** Set by the test to simulate a full socket buffer; `drain()` clears it. */
  writableNeedDrain = false;
  destroyed = false;
  /** Called for every message the client writes (the fake server's ear). */
  onMessage: (message: SentMessage) => void = () => undefined;
  private readonly framer = new JsonStreamFramer();
  private readonly listeners: Listeners = { data: [], error: [], close: [], drain: [] };

  write(data: string): boolean {
    if (this.destroyed) return false;
    for (const message of this.framer.push(Buffer.from(data))) {
      const m = message as SentMessage;
      this.sent.push(m);
      this.onMessage(m);
    }
    return !this.writableNeedDrain;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const l of [...this.listeners.close]) l();
  }

  on(event: 'data', listener: (chunk: Buffer) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: 'close' | 'drain', listener: () => void): this;
  on(
    event: keyof Listeners,
    listener: ((chunk: Buffer) => void) | ((error: Error) => void) | (() => void),
  ): this {
    (this.listeners[event] as unknown[]).push(listener);
    return this;
  }

  // ---- the server's side

  /** Delivers bytes from the server: a message (encoded as the server would) or raw text. */
  receive(message: object | string): void {
    if (this.destroyed) return;
    const chunk = Buffer.from(typeof message === 'string' ? message : stringifyJson(message));
    for (const l of [...this.listeners.data]) l(chunk);
  }

  /** Replies to request `id` with a result. */
  reply(id: unknown, result: unknown): void {
    this.receive({ id, result, error: null });
  }

  /** Replies to request `id` with an error. */
  replyError(id: unknown, error: unknown): void {
    this.receive({ id, result: null, error });
  }

  /** The peer closed the connection. */
  peerClose(): void {
    this.destroy();
  }

  /** A socket error (then the close a socket emits after it). */
  fail(error: Error): void {
    if (this.destroyed) return;
    for (const l of [...this.listeners.error]) l(error);
    this.destroy();
  }

  /** The buffer emptied: clears `writableNeedDrain` and emits `drain`. */
  drain(): void {
    this.writableNeedDrain = false;
    for (const l of [...this.listeners.drain]) l();
  }

  /** Requests (messages with a method and an id) the client sent with this method. */
  requests(method: string): SentMessage[] {
    return this.sent.filter((m) => m.method === method && m.id !== null && m.id !== undefined);
  }
}

/** Answers one request on an accepted connection, or does nothing (no reply). */
export type FakeServerBehaviour = (message: SentMessage, transport: FakeTransport) => void;

export type FakeRemote =
  | { readonly kind: 'refuse'; readonly message?: string }
  | { readonly kind: 'hang' }
  | { readonly kind: 'accept'; readonly server: FakeServerBehaviour };

export interface FakeDial {
  readonly remote: string;
  readonly at: number;
  /** The transport when the dial was accepted. */
  readonly transport: FakeTransport | undefined;
  aborted: boolean;
}

export class FakeOvsdbNetwork {
  /** Every dial, in order, with the fake time it happened at. */
  readonly dials: FakeDial[] = [];
  private readonly remotes = new Map<string, FakeRemote>();

  constructor(private readonly now: () => number) {}

  /** What dialing `remote` (its text, e.g. `tcp:10.0.0.1:6641`) does from now on. */
  set(remote: string, behaviour: FakeRemote): this {
    this.remotes.set(remote, behaviour);
    return this;
  }

  readonly dial: RpcDialer = (endpoint: RemoteEndpoint): PendingTransport => {
    const behaviour = this.remotes.get(endpoint.text) ?? { kind: 'refuse' };
    const transport = behaviour.kind === 'accept' ? new FakeTransport() : undefined;
    const record: FakeDial = { remote: endpoint.text, at: this.now(), transport, aborted: false };
    this.dials.push(record);
    const abort = (): void => {
      record.aborted = true;
      transport?.destroy();
    };
    switch (behaviour.kind) {
      case 'refuse':
        return { ready: Promise.reject(new Error(behaviour.message ?? 'connect ECONNREFUSED')), abort };
      case 'hang':
        return { ready: new Promise<never>(() => undefined), abort };
      case 'accept': {
        const t = transport as FakeTransport;
        t.onMessage = (m) => behaviour.server(m, t);
        return { ready: Promise.resolve(t), abort };
      }
    }
  };

  /** The transport of the last accepted dial. */
  get lastTransport(): FakeTransport {
    const t = [...this.dials].reverse().find((d) => d.transport !== undefined)?.transport;
    if (t === undefined) throw new Error('no dial was accepted');
    return t;
  }

  /** Fake time between consecutive dials (the reconnect delays). */
  delays(): number[] {
    return this.dials.slice(1).map((d, i) => d.at - (this.dials[i] as FakeDial).at);
  }
}

/** The one-table schema of the socket fake (`Fake`, table `Thing`: `name`, `n`), shared. */
export { FAKE_SCHEMA };

/**
 * A standalone server without `_Server` (as before OVS 2.9): answers `get_schema` with
 * FAKE_SCHEMA and the data monitor with an empty initial dump. `echo` is answered.
 */
export const standaloneServer: FakeServerBehaviour = (m, t) => {
  if (m.id === null || m.id === undefined || m.method === undefined) return;
  const params = m.params ?? [];
  switch (m.method) {
    case 'echo':
      t.reply(m.id, params);
      return;
    case 'monitor_cond':
      if (params[0] === '_Server') t.replyError(m.id, 'unknown database');
      else t.reply(m.id, {});
      return;
    case 'get_schema':
      t.reply(m.id, FAKE_SCHEMA);
      return;
    case 'monitor_cond_since':
      t.reply(m.id, [false, 'aaaaaaaa-0000-4000-8000-00000000000a', {}]);
      return;
    default:
      t.replyError(m.id, 'unknown method');
  }
};
