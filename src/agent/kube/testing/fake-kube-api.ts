/**
 * FAKE, for unit tests only: an in-memory stand-in for the few API paths the sinks use (Nodes
 * and their status, PortPlugs with their status subresource, core Events), served through the
 * {@link KubeTransport} seam. It exists for what the real API server in the integration tests
 * cannot do deterministically: fault injection, exact request counting, stepped time.
 * It implements only the semantics the sinks rely on (strategic merge of conditions by type
 * with `$patch: delete`, JSON merge patch, uid preconditions, label selectors by equality).
 */
import type { KubeHttpRequest, KubeHttpResponse, KubeTransport } from '../client.js';

type Json = Record<string, unknown>;

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly contentType: string | undefined;
  readonly body: Json | undefined;
}

/** Decides the fate of a request before it is served: a status code fails it. */
export type FaultInjector = (request: RecordedRequest) => number | undefined;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mergePatch(target: Json, patch: Json): Json {
  const result: Json = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else if (isRecord(value) && isRecord(result[key])) result[key] = mergePatch(result[key], value);
    else result[key] = value;
  }
  return result;
}

function status(code: number, reason: string, message: string): KubeHttpResponse {
  return { status: code, body: JSON.stringify({ kind: 'Status', status: 'Failure', code, reason, message }) };
}

function ok(body: unknown, code = 200): KubeHttpResponse {
  return { status: code, body: JSON.stringify(body) };
}

export class FakeKubeApi {
  readonly nodes = new Map<string, Json>();
  readonly portPlugs = new Map<string, Json>();
  readonly events = new Map<string, Json>();
  readonly requests: RecordedRequest[] = [];
  #uid = 0;
  #faults: FaultInjector[] = [];

  readonly transport: KubeTransport = (request) => Promise.resolve(this.#serve(request));

  addNode(name: string, conditions: Json[] = []): string {
    const uid = `node-uid-${++this.#uid}`;
    this.nodes.set(name, { apiVersion: 'v1', kind: 'Node', metadata: { name, uid }, status: { conditions } });
    return uid;
  }

  nodeConditions(name: string): Json[] {
    const node = this.nodes.get(name);
    const conditions = isRecord(node?.['status']) ? node['status']['conditions'] : undefined;
    return Array.isArray(conditions) ? conditions.filter(isRecord) : [];
  }

  /** Adds a fault rule; it stays until {@link clearFaults}. */
  inject(fault: FaultInjector): void {
    this.#faults.push(fault);
  }

  /** Fails the next `count` requests matching `method` and path prefix with `code`. */
  failNext(count: number, code: number, method?: string, pathPrefix?: string): void {
    let left = count;
    this.inject((request) => {
      if (left === 0) return undefined;
      if (method !== undefined && request.method !== method) return undefined;
      if (pathPrefix !== undefined && !request.path.startsWith(pathPrefix)) return undefined;
      left -= 1;
      return code;
    });
  }

  clearFaults(): void {
    this.#faults = [];
  }

  /** Requests so far with this method whose path (without query) starts with the prefix. */
  count(method: string, pathPrefix = ''): number {
    return this.requests.filter((r) => r.method === method && r.path.split('?')[0]?.startsWith(pathPrefix))
      .length;
  }

  #serve(request: KubeHttpRequest): KubeHttpResponse {
    const body = request.body === undefined ? undefined : (JSON.parse(request.body) as Json);
    const recorded: RecordedRequest = {
      method: request.method,
      path: request.path,
      contentType: request.headers['content-type'],
      body,
    };
    this.requests.push(recorded);
    for (const fault of this.#faults) {
      const code = fault(recorded);
      if (code !== undefined) return status(code, 'Injected', `injected failure ${code}`);
    }
    const url = new URL(request.path, 'http://fake');
    const parts = url.pathname
      .split('/')
      .filter((part) => part !== '')
      .map(decodeURIComponent);
    if (parts[0] === 'api' && parts[2] === 'nodes') return this.#node(request.method, parts.slice(3), body);
    if (parts[0] === 'apis' && parts[3] === 'portplugs')
      return this.#portPlug(request.method, parts.slice(4), body, url);
    if (parts[0] === 'api' && parts[4] === 'events')
      return this.#event(request.method, parts[3] ?? '', parts[5], body);
    return status(404, 'NotFound', `no route for ${request.method} ${request.path}`);
  }

  #node(method: string, rest: string[], body: Json | undefined): KubeHttpResponse {
    const [name, sub] = rest;
    if (name === undefined) {
      return ok({ items: [...this.nodes.values()], metadata: {} });
    }
    const node = this.nodes.get(name);
    if (node === undefined) return status(404, 'NotFound', `nodes "${name}" not found`);
    if (method === 'GET') return ok(node);
    if (method === 'PATCH' && sub === 'status' && body !== undefined) {
      const patched = isRecord(body['status']) ? body['status']['conditions'] : undefined;
      const conditions = this.nodeConditions(name);
      for (const entry of Array.isArray(patched) ? patched.filter(isRecord) : []) {
        const index = conditions.findIndex((c) => c['type'] === entry['type']);
        if (entry['$patch'] === 'delete') {
          if (index >= 0) conditions.splice(index, 1);
        } else if (index >= 0) {
          conditions[index] = { ...conditions[index], ...entry };
        } else {
          conditions.push(entry);
        }
      }
      node['status'] = { conditions };
      return ok(node);
    }
    return status(405, 'MethodNotAllowed', `${method} on node`);
  }

  #portPlug(method: string, rest: string[], body: Json | undefined, url: URL): KubeHttpResponse {
    const [name, sub] = rest;
    if (name === undefined && method === 'GET') {
      const selector = url.searchParams.get('labelSelector');
      const items = [...this.portPlugs.values()].filter((object) => {
        if (selector === null) return true;
        const [key, value] = selector.split('=');
        const metadata = object['metadata'] as { labels?: Record<string, string> };
        return key !== undefined && metadata.labels?.[key] === value;
      });
      return ok({ items, metadata: {} });
    }
    if (name === undefined && method === 'POST' && body !== undefined) {
      const metadata = body['metadata'] as Json;
      const objectName = String(metadata['name']);
      if (this.portPlugs.has(objectName))
        return status(409, 'AlreadyExists', `portplugs "${objectName}" already exists`);
      // The status subresource: status in a create is dropped.
      const { status: _dropped, ...rest } = body;
      const created = { ...rest, metadata: { ...metadata, uid: `pp-uid-${++this.#uid}` } };
      this.portPlugs.set(objectName, created);
      return ok(created, 201);
    }
    if (name === undefined) return status(405, 'MethodNotAllowed', method);
    const object = this.portPlugs.get(name);
    if (object === undefined) return status(404, 'NotFound', `portplugs "${name}" not found`);
    if (method === 'GET') return ok(object);
    if (method === 'PATCH' && sub === 'status' && body !== undefined) {
      const patched = mergePatch(object, { status: body['status'] ?? {} });
      this.portPlugs.set(name, patched);
      return ok(patched);
    }
    if (method === 'DELETE') {
      const preconditions = body?.['preconditions'] as { uid?: string } | undefined;
      const metadata = object['metadata'] as { uid: string };
      if (preconditions?.uid !== undefined && preconditions.uid !== metadata.uid) {
        return status(409, 'Conflict', 'Precondition failed: UID in precondition does not match');
      }
      this.portPlugs.delete(name);
      return ok({ kind: 'Status', status: 'Success' });
    }
    return status(405, 'MethodNotAllowed', method);
  }

  #event(
    method: string,
    namespace: string,
    name: string | undefined,
    body: Json | undefined,
  ): KubeHttpResponse {
    if (method === 'POST' && name === undefined && body !== undefined) {
      const metadata = body['metadata'] as Json;
      const key = `${namespace}/${String(metadata['name'])}`;
      if (this.events.has(key)) return status(409, 'AlreadyExists', `events "${key}" already exists`);
      this.events.set(key, body);
      return ok(body, 201);
    }
    const key = `${namespace}/${name ?? ''}`;
    const event = this.events.get(key);
    if (event === undefined) return status(404, 'NotFound', `events "${key}" not found`);
    if (method === 'PATCH' && body !== undefined) {
      const patched = mergePatch(event, body);
      this.events.set(key, patched);
      return ok(patched);
    }
    return status(405, 'MethodNotAllowed', method);
  }
}
