/**
 * Parsing of OVSDB remote strings (ovsdb.7 "Connection Methods"): `unix:PATH`, `tcp:HOST[:PORT]`,
 * `ssl:HOST[:PORT]`, IPv6 hosts in brackets, default port 6640, comma-separated lists (cluster
 * members) and an optional `cid:<uuid>` element that pins the expected cluster id.
 */
import { RemoteSyntaxError } from './errors.js';

export const DEFAULT_OVSDB_PORT = 6640;

export type RemoteEndpoint =
  | { readonly kind: 'unix'; readonly path: string; readonly text: string }
  | { readonly kind: 'tcp' | 'ssl'; readonly host: string; readonly port: number; readonly text: string };

export interface RemoteList {
  readonly endpoints: readonly RemoteEndpoint[];
  /** Cluster id from a `cid:` element; servers reporting another cid are rejected. */
  readonly cid: string | undefined;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Parses one remote element (not a list). Throws RemoteSyntaxError naming the bad remote. */
export function parseRemote(text: string): RemoteEndpoint {
  const s = text.trim();
  const colon = s.indexOf(':');
  if (colon < 0) throw new RemoteSyntaxError(text, 'expected unix:PATH, tcp:HOST[:PORT] or ssl:HOST[:PORT]');
  const method = s.slice(0, colon);
  const rest = s.slice(colon + 1);
  switch (method) {
    case 'unix':
      if (rest.length === 0) throw new RemoteSyntaxError(text, 'empty socket path');
      return { kind: 'unix', path: rest, text: s };
    case 'tcp':
    case 'ssl': {
      const { host, port } = parseHostPort(text, rest);
      return {
        kind: method,
        host,
        port,
        text: `${method}:${host.includes(':') ? `[${host}]` : host}:${port}`,
      };
    }
    default:
      throw new RemoteSyntaxError(
        text,
        `unknown connection method ${JSON.stringify(method)} (expected unix, tcp or ssl)`,
      );
  }
}

function parseHostPort(text: string, rest: string): { host: string; port: number } {
  let host: string;
  let portText: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) throw new RemoteSyntaxError(text, 'missing "]" after IPv6 address');
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after.length > 0) {
      if (!after.startsWith(':'))
        throw new RemoteSyntaxError(text, `unexpected ${JSON.stringify(after)} after "]"`);
      portText = after.slice(1);
    }
  } else {
    const parts = rest.split(':');
    if (parts.length > 2)
      throw new RemoteSyntaxError(text, 'IPv6 addresses must be written in brackets, e.g. tcp:[::1]:6640');
    host = parts[0] ?? '';
    portText = parts[1];
  }
  if (host.length === 0) throw new RemoteSyntaxError(text, 'missing host');
  let port = DEFAULT_OVSDB_PORT;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText))
      throw new RemoteSyntaxError(text, `bad port ${JSON.stringify(portText)}`);
    port = Number(portText);
    if (port < 1 || port > 65535) throw new RemoteSyntaxError(text, `port ${port} out of range 1..65535`);
  }
  return { host, port };
}

/**
 * Parses a remote list: one remote, a comma-separated string, or an array of either.
 * At most one `cid:` element; at least one endpoint.
 */
export function parseRemoteList(input: string | readonly string[]): RemoteList {
  const items = (typeof input === 'string' ? [input] : input).flatMap((s) => s.split(','));
  const endpoints: RemoteEndpoint[] = [];
  let cid: string | undefined;
  for (const raw of items) {
    const item = raw.trim();
    if (item.length === 0) continue;
    if (item.startsWith('cid:')) {
      const id = item.slice(4);
      if (!UUID_RE.test(id)) throw new RemoteSyntaxError(item, `cid ${JSON.stringify(id)} is not a UUID`);
      if (cid !== undefined && cid !== id.toLowerCase())
        throw new RemoteSyntaxError(item, 'more than one cid: element');
      cid = id.toLowerCase();
      continue;
    }
    endpoints.push(parseRemote(item));
  }
  const whole = typeof input === 'string' ? input : input.join(',');
  if (endpoints.length === 0) throw new RemoteSyntaxError(whole, 'no unix:, tcp: or ssl: remote given');
  return { endpoints, cid };
}
