/**
 * A deliberately small Kubernetes API client: JSON over HTTPS, five verbs, typed errors.
 *
 * The wire is behind {@link KubeTransport} (one request in, status + body out), so unit tests
 * drive the client with an in-memory fake and production uses {@link createHttpsTransport},
 * which does TLS against the cluster CA, client certificates and bearer tokens. The client adds
 * no retries of its own: callers own their retry policy (the condition manager backs off, the
 * port syncer requeues), because only they know whether a write is still wanted.
 */
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import { request as httpRequest, Agent as HttpAgent } from 'node:http';
import { KubeApiError, KubeTransportError, isKubeApiError } from './errors.js';
import {
  createCredentialSource,
  type CredentialSource,
  type CredentialSourceOptions,
  type Credentials,
} from './credentials.js';
import type { KubeConnection } from './kubeconfig.js';
import type { ListMeta } from 'kubernetes-types/meta/v1.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One HTTP exchange with the API server. `path` includes the query string. */
export interface KubeHttpRequest {
  readonly method: HttpMethod;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly timeoutMs: number;
}

export interface KubeHttpResponse {
  readonly status: number;
  readonly body: string;
}

/** Performs one request; rejects only when no HTTP answer arrived (then with KubeTransportError). */
export type KubeTransport = (request: KubeHttpRequest) => Promise<KubeHttpResponse>;

/** The patch flavours the API server accepts, by their content types. */
export const PATCH_CONTENT_TYPES = {
  strategic: 'application/strategic-merge-patch+json',
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

export type PatchType = keyof typeof PATCH_CONTENT_TYPES;

export interface KubeClientOptions {
  readonly transport: KubeTransport;
  /** Per-request deadline; default 10 s. */
  readonly timeoutMs?: number;
  readonly userAgent?: string;
}

export interface ListOptions {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Page size; the client follows `continue` tokens until the list is complete. Default 500. */
  readonly limit?: number;
}

export interface PatchOptions {
  /** Required for `apply`; recorded in managedFields otherwise. */
  readonly fieldManager?: string;
  /** `apply` only: take ownership of conflicting fields. */
  readonly force?: boolean;
}

export interface DeleteOptions {
  /** Delete only if the object still has this uid (guards against deleting a re-created object). */
  readonly uid?: string;
  readonly propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
}

function query(params: Record<string, string | number | boolean | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined) search.set(key, String(value));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

interface StatusBody {
  readonly reason?: unknown;
  readonly message?: unknown;
}

function apiError(request: KubeHttpRequest, response: KubeHttpResponse): KubeApiError {
  let reason: string | undefined;
  let message = response.body.slice(0, 500);
  try {
    const parsed = JSON.parse(response.body) as StatusBody;
    if (typeof parsed.reason === 'string') reason = parsed.reason;
    if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    // Not a Status object (e.g. a proxy's HTML page): keep the raw text.
  }
  return new KubeApiError({
    code: response.status,
    reason,
    message,
    method: request.method,
    path: request.path,
  });
}

/** Any `…List` object: the items and the paging token. */
interface ListResult<T> {
  readonly metadata?: ListMeta;
  readonly items: readonly T[];
}

/** JSON verbs against the API server. Paths are API paths, e.g. `/api/v1/nodes/n1/status`. */
export class KubeClient {
  readonly #transport: KubeTransport;
  readonly #timeoutMs: number;
  readonly #userAgent: string;

  constructor(options: KubeClientOptions) {
    this.#transport = options.transport;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#userAgent = options.userAgent ?? 'ovn-plug-agent';
  }

  async #send<T>(method: HttpMethod, path: string, body?: unknown, contentType?: string): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': this.#userAgent };
    if (body !== undefined) headers['content-type'] = contentType ?? 'application/json';
    const request: KubeHttpRequest = {
      method,
      path,
      headers,
      timeoutMs: this.#timeoutMs,
      ...(body !== undefined && { body: JSON.stringify(body) }),
    };
    const response = await this.#transport(request);
    if (response.status < 200 || response.status >= 300) throw apiError(request, response);
    if (response.body === '') return undefined as T;
    try {
      return JSON.parse(response.body) as T;
    } catch (error) {
      throw new KubeTransportError(`${method} ${path}: response is not JSON`, { cause: error });
    }
  }

  get<T>(path: string): Promise<T> {
    return this.#send<T>('GET', path);
  }

  /** GET that maps 404 to `undefined`. */
  async getIfExists<T>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (error) {
      if (isKubeApiError(error, 404)) return undefined;
      throw error;
    }
  }

  /** Lists a collection, following `continue` tokens, and returns all items. */
  async list<T>(path: string, options: ListOptions = {}): Promise<T[]> {
    const items: T[] = [];
    let continueToken: string | undefined;
    do {
      const page = await this.get<ListResult<T>>(
        path +
          query({
            labelSelector: options.labelSelector,
            fieldSelector: options.fieldSelector,
            limit: options.limit ?? 500,
            continue: continueToken,
          }),
      );
      items.push(...page.items);
      continueToken = page.metadata?.continue === '' ? undefined : page.metadata?.continue;
    } while (continueToken !== undefined);
    return items;
  }

  create<T>(path: string, body: unknown): Promise<T> {
    return this.#send<T>('POST', path, body);
  }

  replace<T>(path: string, body: unknown): Promise<T> {
    return this.#send<T>('PUT', path, body);
  }

  patch<T>(path: string, body: unknown, type: PatchType, options: PatchOptions = {}): Promise<T> {
    if (type === 'apply' && options.fieldManager === undefined) {
      throw new TypeError('an apply patch needs a fieldManager');
    }
    const suffix = query({
      fieldManager: options.fieldManager,
      force: type === 'apply' ? options.force : undefined,
    });
    return this.#send<T>('PATCH', path + suffix, body, PATCH_CONTENT_TYPES[type]);
  }

  /** Deletes; resolves `false` when the object was already gone. */
  async delete(path: string, options: DeleteOptions = {}): Promise<boolean> {
    const body = {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      ...(options.uid !== undefined && { preconditions: { uid: options.uid } }),
      ...(options.propagationPolicy !== undefined && { propagationPolicy: options.propagationPolicy }),
    };
    try {
      await this.#send<unknown>('DELETE', path, body);
      return true;
    } catch (error) {
      if (isKubeApiError(error, 404)) return false;
      throw error;
    }
  }
}

/** Options for {@link createHttpsTransport}. */
export interface HttpsTransportOptions extends CredentialSourceOptions {
  /** Where each request's token or client certificate comes from; default: from the connection. */
  readonly credentials?: CredentialSource;
}

/**
 * The production transport: Node's https (or http, for a plain `http://` server) with a
 * keep-alive agent, the cluster CA, and the credentials of {@link createCredentialSource} (fixed
 * token, token file, client certificate, exec plugin). A 401 makes the source fetch fresh
 * credentials (a rotated token file, a re-run plugin) and the request is sent once more with them:
 * the API server rejected it before doing anything, so repeating it is safe.
 */
export function createHttpsTransport(
  connection: KubeConnection,
  options: HttpsTransportOptions = {},
): KubeTransport {
  const credentials = options.credentials ?? createCredentialSource(connection, options);
  const base = new URL(connection.server);
  const secure = base.protocol === 'https:';
  const newAgent = (clientCertPem?: string, clientKeyPem?: string, idleTimeoutMs?: number): HttpAgent =>
    secure
      ? new HttpsAgent({
          keepAlive: true,
          maxSockets: 4,
          // An agent's idle sockets are destroyed after this (a request sets its own deadline).
          ...(idleTimeoutMs !== undefined && { timeout: idleTimeoutMs }),
          rejectUnauthorized: !connection.insecureSkipTlsVerify,
          ...(connection.caPem !== undefined && { ca: connection.caPem }),
          ...(clientCertPem !== undefined && { cert: clientCertPem }),
          ...(clientKeyPem !== undefined && { key: clientKeyPem }),
          ...(connection.tlsServerName !== undefined && { servername: connection.tlsServerName }),
        })
      : new HttpAgent({ keepAlive: true, maxSockets: 4 });
  const staticAgent = newAgent(connection.clientCertPem, connection.clientKeyPem);
  // An exec plugin may hand out a client certificate (and rotate it): one agent per certificate.
  let pluginAgent: { cert: string; key: string; agent: HttpAgent } | undefined;
  const agentFor = (used: Credentials): HttpAgent => {
    if (used.clientCertPem === undefined || used.clientKeyPem === undefined) return staticAgent;
    if (pluginAgent?.cert !== used.clientCertPem || pluginAgent.key !== used.clientKeyPem) {
      // Requests in flight finish on the previous agent; its idle sockets close after 30 s, so
      // a rotating certificate leaves no connections behind.
      pluginAgent = {
        cert: used.clientCertPem,
        key: used.clientKeyPem,
        agent: newAgent(used.clientCertPem, used.clientKeyPem, 30_000),
      };
    }
    return pluginAgent.agent;
  };
  const basePath = base.pathname.replace(/\/+$/, '');

  const sendOnce = (request: KubeHttpRequest, used: Credentials): Promise<KubeHttpResponse> =>
    new Promise<KubeHttpResponse>((resolvePromise, rejectPromise) => {
      const headers: Record<string, string> = { ...request.headers };
      if (used.token !== undefined) headers['authorization'] = `Bearer ${used.token}`;
      if (request.body !== undefined) headers['content-length'] = String(Buffer.byteLength(request.body));
      const send = secure ? httpsRequest : httpRequest;
      const outgoing = send(
        {
          protocol: base.protocol,
          hostname: base.hostname.replace(/^\[|\]$/g, ''),
          port: base.port === '' ? (secure ? 443 : 80) : Number(base.port),
          path: basePath + request.path,
          method: request.method,
          headers,
          agent: agentFor(used),
          timeout: request.timeoutMs,
        },
        (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
          incoming.on('end', () =>
            resolvePromise({
              status: incoming.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          incoming.on('error', (error) =>
            rejectPromise(
              new KubeTransportError(`${request.method} ${request.path}: ${error.message}`, { cause: error }),
            ),
          );
        },
      );
      outgoing.on('timeout', () => {
        outgoing.destroy(new Error(`no answer within ${request.timeoutMs} ms`));
      });
      outgoing.on('error', (error) =>
        rejectPromise(
          new KubeTransportError(`${request.method} ${connection.server}${request.path}: ${error.message}`, {
            cause: error,
          }),
        ),
      );
      outgoing.end(request.body);
    });

  return async (request) => {
    const used = await credentials.current();
    const response = await sendOnce(request, used);
    if (response.status !== 401) return response;
    const fresh = await credentials.refreshAfterUnauthorized(used);
    return fresh === undefined ? response : sendOnce(request, fresh);
  };
}
