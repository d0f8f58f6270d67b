/**
 * Typed errors of the OVSDB connection layer.
 *
 * Contract: every error the connection or the client hands to callers is one of these classes, so
 * callers can branch with `instanceof` and read the RFC 7047 error string from `OvsdbRpcError.error`.
 */

/** Error strings defined by RFC 7047 §4.1 / §5.2 and the Open vSwitch extensions (ovsdb-server.7). */
export type OvsdbErrorString =
  | 'referential integrity violation'
  | 'constraint violation'
  | 'resources exhausted'
  | 'I/O error'
  | 'duplicate uuid-name'
  | 'duplicate uuid'
  | 'domain error'
  | 'range error'
  | 'timed out'
  | 'not supported'
  | 'aborted'
  | 'not owner'
  | 'not allowed'
  | 'permission error'
  | 'syntax error'
  | 'unknown database'
  | 'unknown column'
  | 'unknown table'
  | 'unknown method'
  | 'unknown monitor session'
  | 'canceled'
  | 'internal error';

const KNOWN_ERROR_STRINGS: ReadonlySet<string> = new Set<OvsdbErrorString>([
  'referential integrity violation',
  'constraint violation',
  'resources exhausted',
  'I/O error',
  'duplicate uuid-name',
  'duplicate uuid',
  'domain error',
  'range error',
  'timed out',
  'not supported',
  'aborted',
  'not owner',
  'not allowed',
  'permission error',
  'syntax error',
  'unknown database',
  'unknown column',
  'unknown table',
  'unknown method',
  'unknown monitor session',
  'canceled',
  'internal error',
]);

/** True when `s` is one of the error strings the RFC or Open vSwitch define. */
export function isKnownOvsdbErrorString(s: string): s is OvsdbErrorString {
  return KNOWN_ERROR_STRINGS.has(s);
}

/**
 * A JSON-RPC error reply. The server uses two shapes: a bare string (`"error":"unknown method"`) and
 * an object (`"error":{"error":"syntax error","details":"...","syntax":"..."}`); both end up here.
 */
export class OvsdbRpcError extends Error {
  override readonly name = 'OvsdbRpcError';
  /** The RFC 7047 error string (unknown strings are kept verbatim). */
  readonly error: OvsdbErrorString | (string & Record<never, never>);
  readonly details: string | undefined;
  readonly syntax: string | undefined;
  /** The `error` member exactly as received. */
  readonly raw: unknown;
  readonly method: string;

  constructor(method: string, raw: unknown) {
    const parsed = parseErrorShape(raw);
    super(
      `${method}: ${parsed.error}${parsed.details === undefined ? '' : ` (${parsed.details})`}` +
        (parsed.syntax === undefined ? '' : ` in ${parsed.syntax}`),
    );
    this.method = method;
    this.error = parsed.error;
    this.details = parsed.details;
    this.syntax = parsed.syntax;
    this.raw = raw;
  }
}

function parseErrorShape(raw: unknown): { error: string; details?: string; syntax?: string } {
  if (typeof raw === 'string') return { error: raw };
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    const o = raw as Record<string, unknown>;
    const error = typeof o['error'] === 'string' ? o['error'] : JSON.stringify(raw);
    const out: { error: string; details?: string; syntax?: string } = { error };
    if (typeof o['details'] === 'string') out.details = o['details'];
    if (typeof o['syntax'] === 'string') out.syntax = o['syntax'];
    return out;
  }
  return { error: safeStringify(raw) };
}

function safeStringify(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)) ?? String(v);
  } catch {
    return String(v);
  }
}

/** A request got no reply within its timeout. A late reply is dropped quietly. */
export class RpcTimeoutError extends Error {
  override readonly name = 'RpcTimeoutError';
  constructor(
    readonly method: string,
    readonly timeoutMs: number,
  ) {
    super(`${method}: no reply within ${timeoutMs} ms`);
  }
}

/** The request was canceled locally (a `cancel` notification was sent for it). */
export class RpcCanceledError extends Error {
  override readonly name = 'RpcCanceledError';
  constructor(readonly method: string) {
    super(`${method}: canceled`);
  }
}

/** The connection closed (or was never open) while the request was outstanding. */
export class ConnectionClosedError extends Error {
  override readonly name = 'ConnectionClosedError';
  constructor(
    readonly remote: string,
    reason: string,
  ) {
    super(`connection to ${remote} closed: ${reason}`);
  }
}

/** The byte stream from the server is not a sequence of JSON values, or a value is too large. */
export class FramingError extends Error {
  override readonly name = 'FramingError';
}

/** A remote string (`unix:`, `tcp:`, `ssl:`, `cid:`) could not be parsed. */
export class RemoteSyntaxError extends Error {
  override readonly name = 'RemoteSyntaxError';
  constructor(
    readonly remote: string,
    why: string,
  ) {
    super(`invalid OVSDB remote ${JSON.stringify(remote)}: ${why}`);
  }
}

/** Options given to the client are invalid. */
export class OvsdbOptionsError extends Error {
  override readonly name = 'OvsdbOptionsError';
}

/** The client was closed; the operation cannot complete. */
export class ClientClosedError extends Error {
  override readonly name = 'ClientClosedError';
  constructor() {
    super('OVSDB client closed');
  }
}
