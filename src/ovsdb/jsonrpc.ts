/**
 * One JSON-RPC 1.0 connection to an ovsdb-server over unix, tcp or ssl (no reconnect: that is the
 * client's job).
 *
 * Contract:
 * - Requests get unique numeric ids; each has its own timeout (none by default). A reply that
 *   arrives after its request timed out or was canceled is dropped quietly (logged at debug).
 * - The server's `echo` requests are answered immediately; replies to our own probe (id "echo")
 *   are swallowed.
 * - Inactivity probe (tcp/ssl only; default 5 s, minimum 1 s, 0 = off): any received byte counts
 *   as activity. After one silent interval an echo is sent; after a second silent interval the
 *   connection is closed. Before giving up, one event-loop turn is let through so that bytes that
 *   queued up during a long stall of our own process are read first.
 * - Outgoing messages respect socket backpressure: while the socket wants a `drain`, messages are
 *   queued in order instead of piling into the socket's buffer.
 * - `cancel(promise)` sends the RFC 7047 `cancel` notification and rejects the pending request
 *   locally with RpcCanceledError (the server replies only on change-aware connections).
 * - Notifications (`update`, `update2`, `update3`, `monitor_canceled`, `locked`, `stolen`) are
 *   delivered synchronously, in arrival order, before any later reply is resolved, so that
 *   "update before transact reply" holds for listeners.
 * - The connection never throws from socket callbacks: errors close it and are reported once
 *   through `onClose`.
 * - Time and transport are injected (`timers`, `dial`; real timers and net/tls sockets by default)
 *   so that unit tests drive timeouts and the probe with a fake clock over an in-memory transport.
 */
import net from 'node:net';
import tls from 'node:tls';
import { readFile } from 'node:fs/promises';
import {
  ConnectionClosedError,
  FramingError,
  OvsdbRpcError,
  RpcCanceledError,
  RpcTimeoutError,
} from './errors.js';
import { DEFAULT_MAX_FRAME_BYTES, JsonStreamFramer, stringifyJson } from './framer.js';
import type { OvsdbLogger } from './logger.js';
import { noopLogger } from './logger.js';
import type { RemoteEndpoint } from './remote.js';
import { realOvsdbTimers } from './timers.js';
import type { OvsdbTimer, OvsdbTimers } from './timers.js';

export const DEFAULT_PROBE_INTERVAL_MS = 5000;
export const MIN_PROBE_INTERVAL_MS = 1000;

/** TLS material as file paths; the files are read again on every connect (certificate rotation). */
export interface TlsFiles {
  readonly caCertFile: string;
  readonly certFile: string;
  readonly privateKeyFile: string;
}

/** TLS material in memory. */
export interface TlsMaterial {
  readonly ca: string | Buffer;
  /** Client certificate and key; ovsdb-server requires them (without, it closes after the handshake). */
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  /** Default false: OVS-PKI certificates carry no host name; the CA chain is still verified. */
  readonly verifyHostname?: boolean;
}

export type TlsSource = TlsFiles | TlsMaterial | (() => Promise<TlsMaterial>);

/**
 * The byte stream under a connection: a connected net/tls socket, or an in-memory fake in tests.
 * `close` must follow `destroy()` (as a socket's does); `drain` follows a write that filled the
 * buffer (`writableNeedDrain`).
 */
export interface RpcTransport {
  write(data: string): unknown;
  readonly writableNeedDrain: boolean;
  destroy(): void;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'close' | 'drain', listener: () => void): unknown;
}

/** A connection being established: `ready` settles once; `abort` gives up on it (connect timeout). */
export interface PendingTransport {
  readonly ready: Promise<RpcTransport>;
  abort(): void;
}

/** Starts connecting to a remote; `tls` is given for ssl remotes. The default dials net/tls. */
export type RpcDialer = (endpoint: RemoteEndpoint, tls: TlsMaterial | undefined) => PendingTransport;

export interface RpcConnectionOptions {
  /** tcp/ssl probe interval; default 5000, minimum 1000, 0 disables. Ignored (off) on unix. */
  probeIntervalMs?: number;
  maxFrameBytes?: number;
  /** Connect (and TLS handshake) timeout; default 10 s. */
  connectTimeoutMs?: number;
  tls?: TlsSource;
  logger?: OvsdbLogger;
  onNotification?: (method: string, params: unknown) => void;
  onClose?: (error: Error) => void;
  /** Timeouts and the probe; default Node's timers. */
  timers?: OvsdbTimers;
  /** How to reach the remote; default a net/tls socket. */
  dial?: RpcDialer;
}

export interface RequestOptions {
  timeoutMs?: number;
}

export type ReplyCallback = (error: Error | undefined, result: unknown) => void;

interface PendingRequest {
  readonly method: string;
  readonly onReply: ReplyCallback;
  timer: OvsdbTimer | undefined;
}

/** Abandoned ids are remembered only to tell late replies from bogus ones; bounded. */
const MAX_ABANDONED_IDS = 10_000;

const REQUEST_ID = Symbol('ovsdb.requestId');

/** A promise for a reply that knows its request id (for `cancel`). */
export type RpcReply<T> = Promise<T> & { readonly [REQUEST_ID]: number };

/** Validates a probe interval; returns the effective value (0 = off). */
export function effectiveProbeInterval(endpoint: RemoteEndpoint, requested: number | undefined): number {
  if (endpoint.kind === 'unix') return 0;
  const ms = requested ?? DEFAULT_PROBE_INTERVAL_MS;
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`probeIntervalMs must be >= 0, got ${ms}`);
  if (ms === 0) return 0;
  return Math.max(MIN_PROBE_INTERVAL_MS, ms);
}

async function resolveTls(source: TlsSource): Promise<TlsMaterial> {
  if (typeof source === 'function') return source();
  if ('caCertFile' in source) {
    const [ca, cert, key] = await Promise.all([
      readFile(source.caCertFile),
      readFile(source.certFile),
      readFile(source.privateKeyFile),
    ]);
    return { ca, cert, key };
  }
  return source;
}

/** The default dialer: a net (unix, tcp) or tls (ssl) socket, without Nagle's delay once connected. */
export const dialSocket: RpcDialer = (endpoint, material) => {
  let s: net.Socket;
  const readyEvent = endpoint.kind === 'ssl' ? 'secureConnect' : 'connect';
  if (endpoint.kind === 'unix') s = net.createConnection({ path: endpoint.path });
  else if (endpoint.kind === 'tcp') s = net.createConnection({ host: endpoint.host, port: endpoint.port });
  else {
    if (material === undefined) throw new Error('ssl: no TLS material');
    s = tls.connect({
      host: endpoint.host,
      port: endpoint.port,
      ca: material.ca,
      ...(material.cert === undefined ? {} : { cert: material.cert }),
      ...(material.key === undefined ? {} : { key: material.key }),
      rejectUnauthorized: true,
      ...(material.verifyHostname === true ? {} : { checkServerIdentity: () => undefined }),
    });
  }
  const socket = s;
  const ready = new Promise<RpcTransport>((resolve, reject) => {
    const onError = (e: Error): void => {
      socket.destroy();
      reject(e);
    };
    socket.once('error', onError);
    socket.once(readyEvent, () => {
      socket.off('error', onError);
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
  return { ready, abort: () => socket.destroy() };
};

export class RpcConnection {
  readonly endpoint: RemoteEndpoint;
  private readonly socket: RpcTransport;
  private readonly timers: OvsdbTimers;
  private readonly framer: JsonStreamFramer;
  private readonly logger: OvsdbLogger;
  private readonly pending = new Map<number, PendingRequest>();
  /** Ids whose reply we no longer wait for (timed out / canceled): dropped quietly when they come. */
  private readonly abandoned = new Set<number>();
  private readonly writeQueue: string[] = [];
  private nextId = 1;
  private closed: Error | undefined;
  private readonly onNotification: (method: string, params: unknown) => void;
  private readonly onClose: (error: Error) => void;
  private readonly probeIntervalMs: number;
  private probeTimer: OvsdbTimer | undefined;
  private receivedSinceCheck = false;
  private probeSent = false;
  /** Bytes received in total (diagnostics and tests). */
  bytesReceived = 0;
  /** Server `echo` requests answered (diagnostics and tests). */
  echoRequestsAnswered = 0;
  /** Inactivity probes sent (diagnostics and tests). */
  probesSent = 0;

  private constructor(endpoint: RemoteEndpoint, socket: RpcTransport, options: RpcConnectionOptions) {
    this.endpoint = endpoint;
    this.socket = socket;
    this.timers = options.timers ?? realOvsdbTimers;
    this.logger = options.logger ?? noopLogger;
    this.framer = new JsonStreamFramer({ maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES });
    this.onNotification = options.onNotification ?? (() => undefined);
    this.onClose = options.onClose ?? (() => undefined);
    this.probeIntervalMs = effectiveProbeInterval(endpoint, options.probeIntervalMs);
    socket.on('data', (chunk: Buffer) => this.handleData(chunk));
    socket.on('error', (e: Error) => this.shutdown(new ConnectionClosedError(endpoint.text, e.message)));
    socket.on('close', () => this.shutdown(new ConnectionClosedError(endpoint.text, 'closed by peer')));
    socket.on('drain', () => this.flushQueue());
    if (this.probeIntervalMs > 0) this.armProbe();
  }

  /** Opens a connection; rejects with ConnectionClosedError naming the remote on failure. */
  static async open(endpoint: RemoteEndpoint, options: RpcConnectionOptions = {}): Promise<RpcConnection> {
    effectiveProbeInterval(endpoint, options.probeIntervalMs);
    const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    let material: TlsMaterial | undefined;
    if (endpoint.kind === 'ssl') {
      if (options.tls === undefined)
        throw new ConnectionClosedError(
          endpoint.text,
          'ssl: remote needs tls options (CA, certificate, key)',
        );
      material = await resolveTls(options.tls);
    }
    const timers = options.timers ?? realOvsdbTimers;
    const pending = (options.dial ?? dialSocket)(endpoint, material);
    const socket = await new Promise<RpcTransport>((resolve, reject) => {
      const timer = timers.setTimer(() => {
        pending.abort();
        reject(new ConnectionClosedError(endpoint.text, `connect timed out after ${connectTimeoutMs} ms`));
      }, connectTimeoutMs);
      pending.ready.then(
        (transport) => {
          timer.cancel();
          resolve(transport);
        },
        (e: unknown) => {
          timer.cancel();
          reject(new ConnectionClosedError(endpoint.text, e instanceof Error ? e.message : String(e)));
        },
      );
    });
    return new RpcConnection(endpoint, socket, options);
  }

  get isClosed(): boolean {
    return this.closed !== undefined;
  }

  /**
   * Sends a request; the promise settles with the `result`, or rejects with a typed error. The
   * promise settles in a microtask, i.e. after notifications that arrived in the same chunk; use
   * `call` when the reply must be handled in wire order.
   */
  request<T = unknown>(
    method: string,
    params: readonly unknown[],
    options: RequestOptions = {},
  ): RpcReply<T> {
    let id = 0;
    const promise = new Promise<T>((resolve, reject) => {
      id = this.call(method, params, options, (error, result) => {
        if (error !== undefined) reject(error);
        else resolve(result as T);
      });
    });
    return Object.assign(promise, { [REQUEST_ID]: id });
  }

  /**
   * Sends a request; `onReply` runs synchronously when the reply is dispatched (in wire order with
   * notifications), on timeout, cancel or close. Returns the request id (for `cancelId`).
   */
  call(method: string, params: readonly unknown[], options: RequestOptions, onReply: ReplyCallback): number {
    const id = this.nextId++;
    if (this.closed !== undefined) {
      const error = this.closed;
      queueMicrotask(() => onReply(error, undefined));
      return id;
    }
    const entry: PendingRequest = { method, onReply, timer: undefined };
    if (options.timeoutMs !== undefined && options.timeoutMs > 0) {
      const timeoutMs = options.timeoutMs;
      entry.timer = this.timers.setTimer(() => {
        this.pending.delete(id);
        this.abandon(id);
        onReply(new RpcTimeoutError(method, timeoutMs), undefined);
      }, timeoutMs);
    }
    this.pending.set(id, entry);
    this.send({ method, params, id });
    return id;
  }

  /** Sends a notification (a request with `"id": null`). */
  notify(method: string, params: readonly unknown[]): void {
    if (this.closed !== undefined) return;
    this.send({ method, params, id: null });
  }

  /**
   * Cancels an outstanding request: sends `cancel` and rejects it locally with RpcCanceledError.
   * Any later reply for it is dropped.
   */
  cancel(reply: RpcReply<unknown>): void {
    this.cancelId(reply[REQUEST_ID]);
  }

  /** `cancel` for a request sent with `call`. */
  cancelId(id: number): void {
    const entry = this.pending.get(id);
    if (entry === undefined) return;
    this.pending.delete(id);
    entry.timer?.cancel();
    this.abandon(id);
    this.notify('cancel', [id]);
    entry.onReply(new RpcCanceledError(entry.method), undefined);
  }

  /** Number of requests waiting for a reply. */
  get outstanding(): number {
    return this.pending.size;
  }

  /** Closes the connection; outstanding requests reject with ConnectionClosedError. */
  close(reason = 'closed by client'): void {
    this.shutdown(new ConnectionClosedError(this.endpoint.text, reason));
  }

  private abandon(id: number): void {
    if (this.abandoned.size >= MAX_ABANDONED_IDS) this.abandoned.clear();
    this.abandoned.add(id);
  }

  private send(message: object): void {
    const text = stringifyJson(message);
    if (this.writeQueue.length > 0 || this.socket.writableNeedDrain) {
      this.writeQueue.push(text);
      return;
    }
    this.socket.write(text);
  }

  private flushQueue(): void {
    while (this.writeQueue.length > 0 && !this.socket.writableNeedDrain && this.closed === undefined) {
      const text = this.writeQueue.shift() as string;
      this.socket.write(text);
    }
  }

  private handleData(chunk: Buffer): void {
    if (this.closed !== undefined) return;
    this.bytesReceived += chunk.length;
    this.receivedSinceCheck = true;
    let messages: unknown[];
    try {
      messages = this.framer.push(chunk);
    } catch (e) {
      const why = e instanceof FramingError ? e.message : String(e);
      this.logger.error({ remote: this.endpoint.text, err: why }, 'malformed data from OVSDB server');
      this.shutdown(new ConnectionClosedError(this.endpoint.text, why));
      return;
    }
    for (const message of messages) {
      if (this.closed !== undefined) return;
      this.dispatch(message);
    }
  }

  private dispatch(message: unknown): void {
    if (message === null || typeof message !== 'object' || Array.isArray(message)) {
      this.protocolError(`JSON-RPC message is not an object: ${stringifyJson(message).slice(0, 200)}`);
      return;
    }
    const m = message as Record<string, unknown>;
    const method = m['method'];
    if (typeof method === 'string') {
      const id = m['id'];
      if (id === null || id === undefined) {
        this.deliverNotification(method, m['params']);
        return;
      }
      if (method === 'echo') {
        this.echoRequestsAnswered++;
        this.send({ result: m['params'] ?? [], error: null, id });
        return;
      }
      this.send({ result: null, error: 'unknown method', id });
      return;
    }
    const id = m['id'];
    if (id === 'echo') return;
    if (typeof id !== 'number') {
      this.logger.debug({ remote: this.endpoint.text, id }, 'reply with an id we never used; dropped');
      return;
    }
    const entry = this.pending.get(id);
    if (entry === undefined) {
      if (this.abandoned.delete(id))
        this.logger.debug({ remote: this.endpoint.text, id }, 'late reply dropped');
      else this.logger.debug({ remote: this.endpoint.text, id }, 'reply for unknown request id dropped');
      return;
    }
    this.pending.delete(id);
    entry.timer?.cancel();
    const error = m['error'];
    this.settle(
      entry,
      error !== null && error !== undefined ? new OvsdbRpcError(entry.method, error) : undefined,
      m['result'],
    );
  }

  private settle(entry: PendingRequest, error: Error | undefined, result: unknown): void {
    try {
      entry.onReply(error, result);
    } catch (e) {
      this.logger.error(
        { remote: this.endpoint.text, method: entry.method, err: (e as Error).message },
        'reply handler threw',
      );
    }
  }

  private deliverNotification(method: string, params: unknown): void {
    try {
      this.onNotification(method, params);
    } catch (e) {
      this.logger.error(
        { remote: this.endpoint.text, method, err: (e as Error).message },
        'notification handler threw',
      );
    }
  }

  private protocolError(why: string): void {
    this.logger.error({ remote: this.endpoint.text, err: why }, 'OVSDB protocol error');
    this.shutdown(new ConnectionClosedError(this.endpoint.text, why));
  }

  private armProbe(): void {
    this.probeTimer = this.timers.setTimer(() => this.checkProbe(), this.probeIntervalMs, { unref: true });
  }

  private checkProbe(): void {
    if (this.closed !== undefined) return;
    if (this.receivedSinceCheck) {
      this.receivedSinceCheck = false;
      this.probeSent = false;
      this.armProbe();
      return;
    }
    // Let one poll phase run: data that queued while our own event loop was stalled counts.
    this.timers.afterPendingIo(() => {
      if (this.closed !== undefined) return;
      if (this.receivedSinceCheck) {
        this.receivedSinceCheck = false;
        this.probeSent = false;
      } else if (!this.probeSent) {
        this.probeSent = true;
        this.probesSent++;
        this.send({ method: 'echo', params: [], id: 'echo' });
      } else {
        this.logger.warn(
          { remote: this.endpoint.text, probeIntervalMs: this.probeIntervalMs },
          'no data from OVSDB server; inactivity probe failed',
        );
        this.shutdown(
          new ConnectionClosedError(
            this.endpoint.text,
            `inactivity probe failed after ${2 * this.probeIntervalMs} ms`,
          ),
        );
        return;
      }
      this.armProbe();
    });
  }

  private shutdown(error: Error): void {
    if (this.closed !== undefined) return;
    this.closed = error;
    this.probeTimer?.cancel();
    this.writeQueue.length = 0;
    this.socket.destroy();
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      p.timer?.cancel();
      this.settle(p, error, undefined);
    }
    try {
      this.onClose(error);
    } catch (e) {
      this.logger.error({ remote: this.endpoint.text, err: (e as Error).message }, 'close handler threw');
    }
  }
}
