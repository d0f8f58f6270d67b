import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KubeClient } from './client.js';
import { EventRecorder } from './events.js';
import { PortPlugSyncer } from './port-plug-syncer.js';
import { PORT_PLUGS_PATH, portPlugName } from './port-plug-resource.js';
import { FakeKubeApi } from './testing/fake-kube-api.js';
import { port, snapshot, startingSnapshot } from './testing/status-builders.js';

const NODE = 'dpu-1';

interface SetupOptions {
  writesPerSecond?: number;
  burst?: number;
}

function setup(options: SetupOptions = {}) {
  const api = new FakeKubeApi();
  const nodeUid = api.addNode(NODE);
  const client = new KubeClient({ transport: api.transport });
  const syncer = new PortPlugSyncer({
    client,
    nodeName: NODE,
    backoff: { jitter: 0 },
    writesPerSecond: options.writesPerSecond ?? 1000,
    burst: options.burst ?? 1000,
    events: new EventRecorder({ client, nodeName: NODE }),
  });
  return { api, nodeUid, syncer };
}

function object(api: FakeKubeApi, logicalPort: string): Record<string, unknown> | undefined {
  return api.portPlugs.get(portPlugName(NODE, logicalPort));
}

function writes(api: FakeKubeApi): number {
  return api.requests.filter((r) => r.method !== 'GET').length;
}

function preexisting(
  api: FakeKubeApi,
  node: string,
  logicalPort: string,
  status: Record<string, unknown>,
): void {
  const name = portPlugName(node, logicalPort);
  api.portPlugs.set(name, {
    apiVersion: 'ovn-plug-agent.io/v1alpha1',
    kind: 'PortPlug',
    metadata: { name, uid: `old-${name}`, labels: { 'ovn-plug-agent.io/node': node } },
    spec: { nodeName: node, logicalPort },
    status,
  });
}

async function settle(syncer: PortPlugSyncer): Promise<void> {
  await vi.advanceTimersByTimeAsync(0);
  await syncer.idle();
}

describe('PortPlugSyncer', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-11-25T10:00:00Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('creates one object per port, owned by the Node and labelled with it, then sets its status', async () => {
    const { api, nodeUid, syncer } = setup();
    await syncer.start();
    syncer.update(
      snapshot({ ports: [port('lp1'), port('lp2', { state: 'Pending', message: 'no PF with MAC 00:11' })] }),
    );
    await settle(syncer);
    expect(api.portPlugs.size).toBe(2);
    expect(object(api, 'lp1')).toMatchObject({
      metadata: {
        name: 'dpu-1.lp1',
        labels: { 'ovn-plug-agent.io/node': NODE, 'app.kubernetes.io/managed-by': 'ovn-plug-agent' },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: NODE, uid: nodeUid }],
      },
      spec: { nodeName: NODE, logicalPort: 'lp1' },
      status: { state: 'Bound', reason: 'Installed', provider: 'dummy', interfaceName: 'lp1', ofport: 1 },
    });
    expect(object(api, 'lp2')).toMatchObject({
      status: { state: 'Pending', reason: 'RepresentorNotFound', message: 'no PF with MAC 00:11' },
    });
    expect(api.count('PATCH', `${PORT_PLUGS_PATH}/dpu-1.lp1/status`)).toBe(1);
  });

  it('writes nothing for an unchanged snapshot and only the changed fields of a changed port', async () => {
    const { api, syncer } = setup();
    await syncer.start();
    syncer.update(snapshot({ ports: [port('lp1', { state: 'Plugged' }), port('lp2')] }));
    await settle(syncer);
    const before = writes(api);
    syncer.update(snapshot({ ports: [port('lp1', { state: 'Plugged' }), port('lp2')] }));
    await settle(syncer);
    expect(writes(api)).toBe(before);

    syncer.update(
      snapshot({
        ports: [port('lp1', { state: 'Bound', ofport: 7, sinceMs: 1_700_000_002_000 }), port('lp2')],
      }),
    );
    await settle(syncer);
    expect(writes(api)).toBe(before + 1);
    const patch = api.requests.at(-1);
    expect(patch?.path).toBe(`${PORT_PLUGS_PATH}/dpu-1.lp1/status`);
    expect(patch?.contentType).toBe('application/merge-patch+json');
    expect(patch?.body).toEqual({
      status: {
        state: 'Bound',
        reason: 'Installed',
        message: 'lp1 is Bound',
        ofport: 7,
        lastTransitionTime: '2023-11-14T22:13:22Z',
      },
    });
  });

  it('paces requests with its token bucket: 1,000 ports never exceed burst + rate × time', async () => {
    const { api, syncer } = setup({ writesPerSecond: 20, burst: 50 });
    await syncer.start();
    const startRequests = api.requests.length;
    const ports = Array.from({ length: 1000 }, (_, i) => port(`lp${i}`));
    syncer.update(snapshot({ ports }));
    for (let second = 1; second <= 10; second += 1) {
      await vi.advanceTimersByTimeAsync(1000);
      expect(api.requests.length - startRequests).toBeLessThanOrEqual(50 + 20 * second);
    }
    expect(api.requests.length - startRequests).toBeGreaterThanOrEqual(50 + 20 * 10 - 2);
    // 2,000 requests (create + status) at 20/s after a burst of 50: done after ~97.5 s.
    await vi.advanceTimersByTimeAsync(90_000);
    await syncer.idle();
    expect(api.portPlugs.size).toBe(1000);
    expect(api.requests.length - startRequests).toBe(2000);
  });

  it('writes a port that changes many times while queued only once, with its newest status', async () => {
    const { api, syncer } = setup({ writesPerSecond: 1, burst: 1 });
    const started = syncer.start();
    await vi.advanceTimersByTimeAsync(5000);
    await started;
    syncer.update(snapshot({ ports: [port('a'), port('b', { state: 'Pending' })] }));
    for (const state of ['Plugging', 'Plugged', 'Failed', 'Plugging', 'Plugged'] as const) {
      await vi.advanceTimersByTimeAsync(100);
      syncer.update(snapshot({ ports: [port('a'), port('b', { state })] }));
    }
    await vi.advanceTimersByTimeAsync(10_000);
    await syncer.idle();
    expect(api.count('PATCH', `${PORT_PLUGS_PATH}/dpu-1.b/status`)).toBe(1);
    expect(object(api, 'b')).toMatchObject({ status: { state: 'Plugged' } });
  });

  it('adopts existing objects at start, deletes stale ones only after the agent has synced, and leaves other nodes alone', async () => {
    const { api, syncer } = setup();
    preexisting(api, NODE, 'kept', {
      ...portStatusFields('Bound'),
      interfaceName: 'kept',
      ofport: 1,
      message: 'kept is Bound',
    });
    preexisting(api, NODE, 'gone', portStatusFields('Bound'));
    preexisting(api, 'other-node', 'theirs', portStatusFields('Bound'));
    await syncer.start();
    syncer.update(startingSnapshot());
    await settle(syncer);
    expect(api.portPlugs.size).toBe(3);
    expect(writes(api)).toBe(0);

    syncer.update(snapshot({ ports: [port('kept')] }));
    await settle(syncer);
    expect([...api.portPlugs.keys()].sort()).toEqual(['dpu-1.kept', 'other-node.theirs']);
    expect(writes(api)).toBe(1);
    expect(api.requests.at(-1)).toMatchObject({
      method: 'DELETE',
      body: { preconditions: { uid: 'old-dpu-1.gone' } },
    });
  });

  it('deletes the object of a port that is no longer reported', async () => {
    const { api, syncer } = setup();
    await syncer.start();
    syncer.update(snapshot({ ports: [port('lp1'), port('lp2')] }));
    await settle(syncer);
    syncer.update(snapshot({ ports: [port('lp2')] }));
    await settle(syncer);
    expect([...api.portPlugs.keys()]).toEqual(['dpu-1.lp2']);
    expect(syncer.knownObjects()).toEqual(['dpu-1.lp2']);
  });

  it('records one Warning Event per Failed/Conflict transition and folds repeats of the same failure into it', async () => {
    const { api, syncer } = setup();
    await syncer.start();
    const failed = port('lp1', {
      state: 'Failed',
      reason: 'InterfaceError',
      message: 'could not open network device lp1',
    });
    syncer.update(snapshot({ ports: [failed] }));
    await settle(syncer);
    expect(api.events.size).toBe(1);
    const [event] = api.events.values();
    expect(event).toMatchObject({
      type: 'Warning',
      reason: 'InterfaceError',
      message: 'Failed: could not open network device lp1',
      count: 1,
      involvedObject: { kind: 'PortPlug', name: 'dpu-1.lp1', apiVersion: 'ovn-plug-agent.io/v1alpha1' },
      source: { component: 'ovn-plug-agent', host: NODE },
    });

    syncer.update(snapshot({ ports: [failed] }));
    await settle(syncer);
    expect(api.count('POST', '/api/v1/namespaces/default/events')).toBe(1);

    await vi.advanceTimersByTimeAsync(5000);
    syncer.update(snapshot({ ports: [port('lp1', { state: 'Plugging' })] }));
    await settle(syncer);
    syncer.update(snapshot({ ports: [failed] }));
    await settle(syncer);
    expect(api.events.size).toBe(1);
    expect([...api.events.values()][0]).toMatchObject({ count: 2, lastTimestamp: '2026-11-25T10:00:05Z' });

    syncer.update(
      snapshot({
        ports: [port('lp1', { state: 'Conflict', message: 'interface lp1 belongs to someone else' })],
      }),
    );
    await settle(syncer);
    expect(api.events.size).toBe(2);
    syncer.update(snapshot({ ports: [port('lp1')] }));
    await settle(syncer);
    expect(api.events.size).toBe(2);
  });

  it('records no Event for an object adopted at start already failing for the same reason', async () => {
    const { api, syncer } = setup();
    preexisting(api, NODE, 'lp1', { ...portStatusFields('Failed'), reason: 'InterfaceError' });
    syncer.update(snapshot({ ports: [port('lp1', { state: 'Failed' })] }));
    await syncer.start();
    await settle(syncer);
    expect(api.events.size).toBe(0);
  });

  it('retries a failed request with backoff and re-creates an object deleted behind its back', async () => {
    const { api, syncer } = setup();
    await syncer.start();
    api.failNext(2, 503, 'POST');
    syncer.update(snapshot({ ports: [port('lp1')] }));
    await settle(syncer);
    expect(api.portPlugs.size).toBe(0);
    expect(syncer.stats.errors).toBe(1);
    await vi.advanceTimersByTimeAsync(1000);
    await syncer.idle();
    expect(syncer.stats.errors).toBe(2);
    await vi.advanceTimersByTimeAsync(2000);
    await syncer.idle();
    expect(object(api, 'lp1')).toMatchObject({ status: { state: 'Bound' } });

    api.portPlugs.clear();
    syncer.update(snapshot({ ports: [port('lp1', { state: 'Failed' })] }));
    await settle(syncer);
    await vi.advanceTimersByTimeAsync(1000);
    await syncer.idle();
    expect(object(api, 'lp1')).toMatchObject({ status: { state: 'Failed' } });
  });
});

function portStatusFields(state: string): Record<string, unknown> {
  const built = port('x', { state: state as 'Bound' });
  return {
    state,
    reason: built.reason,
    message: built.message,
    provider: 'dummy',
    firstSeenTime: '2023-11-14T22:13:20Z',
    lastTransitionTime: '2023-11-14T22:13:21Z',
  };
}
