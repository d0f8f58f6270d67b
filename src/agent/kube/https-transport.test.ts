import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpsTransport } from './client.js';
import { KubeTransportError } from './errors.js';
import type { Clock } from './runtime.js';

// The production transport over a loopback plain-HTTP server (TLS against a real CA is covered
// by test/integration/kube-status-sinks.test.ts).

let server: Server | undefined;

afterEach(async () => {
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  server = undefined;
});

async function listen(
  handler: (headers: IncomingHttpHeaders, url: string, body: string) => [number, string],
): Promise<string> {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const [status, body] = handler(req.headers, req.url ?? '', Buffer.concat(chunks).toString());
      res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

function steppedClock(): Clock & { now(): number; step(ms: number): void } {
  let now = 0;
  return { now: () => now, step: (ms) => (now += ms), setTimer: () => ({ cancel: () => undefined }) };
}

describe('createHttpsTransport', () => {
  it('sends the body and a bearer token re-read from the token file once the refresh period passed', async () => {
    const seen: { auth: string | undefined; url: string; body: string }[] = [];
    const url = await listen((headers, path, body) => {
      seen.push({ auth: headers.authorization, url: path, body });
      return [200, '{"ok":true}'];
    });
    let token = 'first';
    const clock = steppedClock();
    const transport = createHttpsTransport(
      { server: `${url}/prefix`, tokenFile: '/sa/token', insecureSkipTlsVerify: false },
      { readFile: () => `${token}\n`, clock, tokenRefreshMs: 60_000 },
    );
    const request = {
      method: 'POST' as const,
      path: '/api/v1/x?a=1',
      headers: { 'content-type': 'application/json' },
      body: '{"b":2}',
      timeoutMs: 2000,
    };
    expect(await transport(request)).toEqual({ status: 200, body: '{"ok":true}' });
    token = 'second';
    clock.step(59_000);
    await transport(request);
    clock.step(1_000);
    await transport(request);
    expect(seen).toEqual([
      { auth: 'Bearer first', url: '/prefix/api/v1/x?a=1', body: '{"b":2}' },
      { auth: 'Bearer first', url: '/prefix/api/v1/x?a=1', body: '{"b":2}' },
      { auth: 'Bearer second', url: '/prefix/api/v1/x?a=1', body: '{"b":2}' },
    ]);
  });

  it('after a 401 re-reads a rotated token file and sends the request once more; a 401 with no newer token stands', async () => {
    const seen: string[] = [];
    const url = await listen((headers) => {
      seen.push(headers.authorization ?? '');
      return headers.authorization === 'Bearer rotated' ? [200, '{}'] : [401, '{"reason":"Unauthorized"}'];
    });
    let token = 'old';
    const transport = createHttpsTransport(
      { server: url, tokenFile: '/sa/token', insecureSkipTlsVerify: false },
      { readFile: () => token, clock: steppedClock(), tokenRefreshMs: 60_000 },
    );
    const request = { method: 'GET' as const, path: '/api', headers: {}, timeoutMs: 2000 };
    expect((await transport(request)).status).toBe(401);
    token = 'rotated';
    expect((await transport(request)).status).toBe(200);
    expect(seen).toEqual(['Bearer old', 'Bearer old', 'Bearer rotated']);
  });

  it('returns error statuses as responses and rejects only when no answer arrives', async () => {
    const url = await listen(() => [409, '{"reason":"AlreadyExists"}']);
    const transport = createHttpsTransport({ server: url, insecureSkipTlsVerify: false });
    expect(await transport({ method: 'GET', path: '/a', headers: {}, timeoutMs: 2000 })).toEqual({
      status: 409,
      body: '{"reason":"AlreadyExists"}',
    });
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    server = undefined;
    const error = await transport({ method: 'GET', path: '/a', headers: {}, timeoutMs: 2000 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(KubeTransportError);
    expect((error as Error).message).toMatch(new RegExp(`^GET ${url}/a: `));
  });
});
