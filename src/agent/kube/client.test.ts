import { describe, expect, it } from 'vitest';
import { KubeClient, type KubeHttpRequest, type KubeHttpResponse } from './client.js';
import { KubeApiError } from './errors.js';

/** A fake transport answering from a queue and recording requests. */
function fakeTransport(answers: KubeHttpResponse[]) {
  const seen: KubeHttpRequest[] = [];
  const transport = (request: KubeHttpRequest): Promise<KubeHttpResponse> => {
    seen.push(request);
    const answer = answers.shift();
    return answer === undefined ? Promise.reject(new Error('no answer queued')) : Promise.resolve(answer);
  };
  return { seen, client: new KubeClient({ transport, timeoutMs: 1234 }) };
}

describe('KubeClient', () => {
  it('turns a Status failure into a KubeApiError with code, reason and message', async () => {
    const { client } = fakeTransport([
      {
        status: 403,
        body: JSON.stringify({
          kind: 'Status',
          reason: 'Forbidden',
          message: 'nodes "n1" is forbidden: User "x" cannot patch resource "nodes/status"',
        }),
      },
    ]);
    const error = await client.patch('/api/v1/nodes/n1/status', {}, 'strategic').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeApiError);
    expect(error).toMatchObject({
      code: 403,
      reason: 'Forbidden',
      method: 'PATCH',
      path: '/api/v1/nodes/n1/status',
    });
    expect((error as Error).message).toBe(
      'PATCH /api/v1/nodes/n1/status: 403 Forbidden: nodes "n1" is forbidden: User "x" cannot patch resource "nodes/status"',
    );
  });

  it('keeps a non-JSON error body as the message', async () => {
    const { client } = fakeTransport([{ status: 502, body: '<html>bad gateway</html>' }]);
    await expect(client.get('/api')).rejects.toThrow('GET /api: 502: <html>bad gateway</html>');
  });

  it('follows continue tokens until the list is complete', async () => {
    const { client, seen } = fakeTransport([
      { status: 200, body: JSON.stringify({ metadata: { continue: 'tok 1' }, items: [1, 2] }) },
      { status: 200, body: JSON.stringify({ metadata: { continue: '' }, items: [3] }) },
    ]);
    expect(await client.list<number>('/apis/g/v1/things', { labelSelector: 'a=b', limit: 2 })).toEqual([
      1, 2, 3,
    ]);
    expect(seen.map((r) => r.path)).toEqual([
      '/apis/g/v1/things?labelSelector=a%3Db&limit=2',
      '/apis/g/v1/things?labelSelector=a%3Db&limit=2&continue=tok+1',
    ]);
    expect(seen[0]?.timeoutMs).toBe(1234);
  });

  it('sends each patch flavour with its content type', async () => {
    const ok = { status: 200, body: '{}' };
    const { client, seen } = fakeTransport([ok, ok, ok]);
    await client.patch('/x', { a: 1 }, 'strategic');
    await client.patch('/x', { a: 1 }, 'merge');
    await client.patch('/x', { a: 1 }, 'apply', { fieldManager: 'agent', force: true });
    expect(seen.map((r) => r.headers['content-type'])).toEqual([
      'application/strategic-merge-patch+json',
      'application/merge-patch+json',
      'application/apply-patch+yaml',
    ]);
    expect(seen[2]?.path).toBe('/x?fieldManager=agent&force=true');
    expect(() => client.patch('/x', {}, 'apply')).toThrow('an apply patch needs a fieldManager');
  });

  it('delete sends a uid precondition and reports an already missing object as false', async () => {
    const { client, seen } = fakeTransport([
      { status: 200, body: '{}' },
      { status: 404, body: JSON.stringify({ reason: 'NotFound', message: 'gone' }) },
    ]);
    expect(await client.delete('/a', { uid: 'u1' })).toBe(true);
    expect(await client.delete('/a')).toBe(false);
    expect(JSON.parse(seen[0]?.body ?? '')).toMatchObject({ preconditions: { uid: 'u1' } });
  });

  it('getIfExists maps 404 to undefined and rethrows anything else', async () => {
    const { client } = fakeTransport([
      { status: 404, body: '{}' },
      { status: 500, body: '{}' },
    ]);
    expect(await client.getIfExists('/a')).toBeUndefined();
    await expect(client.getIfExists('/a')).rejects.toMatchObject({ code: 500 });
  });
});
