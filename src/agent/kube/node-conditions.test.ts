import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KubeClient } from './client.js';
import { NodeConditionManager, removeNodeConditions } from './node-conditions.js';
import { FakeKubeApi } from './testing/fake-kube-api.js';
import { port, snapshot, startingSnapshot } from './testing/status-builders.js';

const NODE = 'dpu-1';
const STATUS_PATH = `/api/v1/nodes/${NODE}/status`;
const KUBELET_READY = {
  type: 'Ready',
  status: 'True',
  reason: 'KubeletReady',
  message: 'kubelet is posting ready status',
  lastTransitionTime: '2026-01-01T00:00:00Z',
  lastHeartbeatTime: '2026-01-01T00:00:00Z',
};

function setup(options: { conditions?: Record<string, unknown>[]; heartbeatIntervalMs?: number } = {}) {
  const api = new FakeKubeApi();
  api.addNode(NODE, [{ ...KUBELET_READY }, ...(options.conditions ?? [])]);
  const manager = new NodeConditionManager({
    client: new KubeClient({ transport: api.transport }),
    nodeName: NODE,
    backoff: { jitter: 0 },
    ...(options.heartbeatIntervalMs !== undefined && { heartbeatIntervalMs: options.heartbeatIntervalMs }),
  });
  return { api, manager, patches: () => api.count('PATCH', STATUS_PATH) };
}

function condition(api: FakeKubeApi, type: string): Record<string, unknown> | undefined {
  return api.nodeConditions(NODE).find((c) => c['type'] === type);
}

describe('NodeConditionManager', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-11-25T10:00:00Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes both summary conditions within a second by strategic-merge PATCH of nodes/status, leaving the kubelet condition alone', async () => {
    const { api, manager, patches } = setup();
    await manager.start();
    manager.update(snapshot({ ports: [port('lp1'), port('lp2')] }));
    await vi.advanceTimersByTimeAsync(999);
    expect(patches()).toBe(1);
    const patch = api.requests.find((r) => r.method === 'PATCH');
    expect(patch?.contentType).toBe('application/strategic-merge-patch+json');
    expect(Object.keys(patch?.body ?? {})).toEqual(['status']);
    expect(condition(api, 'Ready')).toEqual(KUBELET_READY);
    expect(condition(api, 'OvnPlugReady')).toMatchObject({
      status: 'True',
      reason: 'AllPortsBound',
      message: 'connected to both databases; all 2 requested ports are Bound',
      lastTransitionTime: '2026-11-25T10:00:00Z',
    });
    expect(condition(api, 'OvnPlugDegraded')).toMatchObject({ status: 'False', reason: 'NoPortProblems' });
  });

  it('coalesces a burst of changes into one write carrying the newest content', async () => {
    const { api, manager, patches } = setup();
    await manager.start();
    for (let i = 1; i <= 20; i += 1) {
      manager.update(snapshot({ ports: [port('lp1', { state: i === 20 ? 'Failed' : 'Plugging' })] }));
      await vi.advanceTimersByTimeAsync(10);
    }
    await vi.advanceTimersByTimeAsync(1000);
    expect(patches()).toBe(1);
    expect(condition(api, 'OvnPlugDegraded')).toMatchObject({
      status: 'True',
      reason: 'PortsFailed',
      message: '1 Failed (lp1)',
    });
  });

  it('spaces writes at least a second apart however often the content changes', async () => {
    const { manager, patches } = setup();
    await manager.start();
    for (let i = 1; i <= 50; i += 1) {
      const ports = Array.from({ length: i }, (_, n) => port(`lp${n}`, { state: 'Pending' }));
      manager.update(snapshot({ ports }));
      await vi.advanceTimersByTimeAsync(100);
    }
    // 5 s of a change every 100 ms: the first write after 250 ms, then one per second.
    expect(patches()).toBe(5);
    await vi.advanceTimersByTimeAsync(1000);
    expect(patches()).toBe(6);
  });

  it('keeps lastTransitionTime when only reason or message changes and moves it when status flips', async () => {
    const { api, manager } = setup();
    await manager.start();
    manager.update(snapshot({ ports: [port('lp1', { state: 'Pending' })] }));
    await vi.advanceTimersByTimeAsync(2000);
    const first = condition(api, 'OvnPlugDegraded');
    expect(first).toMatchObject({
      status: 'True',
      reason: 'PortsPending',
      lastTransitionTime: '2026-11-25T10:00:00Z',
    });

    await vi.advanceTimersByTimeAsync(60_000);
    manager.update(snapshot({ ports: [port('lp1', { state: 'Failed' })] }));
    await vi.advanceTimersByTimeAsync(2000);
    expect(condition(api, 'OvnPlugDegraded')).toMatchObject({
      status: 'True',
      reason: 'PortsFailed',
      lastTransitionTime: '2026-11-25T10:00:00Z',
    });

    await vi.advanceTimersByTimeAsync(60_000);
    manager.update(snapshot({ ports: [port('lp1')] }));
    await vi.advanceTimersByTimeAsync(2000);
    expect(condition(api, 'OvnPlugDegraded')).toMatchObject({
      status: 'False',
      reason: 'NoPortProblems',
      lastTransitionTime: '2026-11-25T10:02:04Z',
    });
  });

  it('re-writes unchanged conditions only at the heartbeat interval, refreshing lastHeartbeatTime', async () => {
    const { api, manager, patches } = setup({ heartbeatIntervalMs: 300_000 });
    await manager.start();
    const steady = snapshot({ ports: [port('lp1')] });
    manager.update(steady);
    await vi.advanceTimersByTimeAsync(1000);
    expect(patches()).toBe(1);
    for (let i = 0; i < 29; i += 1) {
      await vi.advanceTimersByTimeAsync(10_000);
      manager.update(steady);
    }
    expect(patches()).toBe(1);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(patches()).toBe(2);
    expect(condition(api, 'OvnPlugReady')).toMatchObject({
      lastHeartbeatTime: '2026-11-25T10:05:00Z',
      lastTransitionTime: '2026-11-25T10:00:00Z',
    });
  });

  it('retries a failed write with exponential backoff and then writes the newest content', async () => {
    const { api, manager, patches } = setup();
    await manager.start();
    api.failNext(3, 500, 'PATCH');
    manager.update(snapshot({ ports: [port('lp1', { state: 'Pending' })] }));
    await vi.advanceTimersByTimeAsync(300);
    expect(patches()).toBe(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(patches()).toBe(2);
    manager.update(snapshot({ ports: [port('lp1', { state: 'Conflict' })] }));
    await vi.advanceTimersByTimeAsync(1500);
    expect(patches()).toBe(2);
    await vi.advanceTimersByTimeAsync(600);
    expect(patches()).toBe(3);
    await vi.advanceTimersByTimeAsync(3800);
    expect(patches()).toBe(3);
    await vi.advanceTimersByTimeAsync(100);
    expect(patches()).toBe(4);
    expect(condition(api, 'OvnPlugDegraded')).toMatchObject({
      reason: 'PortConflict',
      message: '1 Conflict (lp1)',
    });
  });

  it('adopts conditions from a previous run: no false transition while starting, lastTransitionTime kept (NPD #304)', async () => {
    const previous = [
      {
        type: 'OvnPlugReady',
        status: 'True',
        reason: 'AllPortsBound',
        message: 'connected to both databases; all 1 requested ports are Bound',
        lastTransitionTime: '2026-11-20T08:00:00Z',
        lastHeartbeatTime: '2026-11-25T09:58:00Z',
      },
      { type: 'OvnPlugLegacyThing', status: 'True', reason: 'Old', message: 'from an older version' },
    ];
    const { api, manager, patches } = setup({ conditions: previous });
    await manager.start();
    manager.update(startingSnapshot());
    await vi.advanceTimersByTimeAsync(30_000);
    expect(patches()).toBe(0);
    manager.update(snapshot({ ports: [port('lp1')] }));
    await vi.advanceTimersByTimeAsync(1000);
    expect(patches()).toBe(1);
    expect(condition(api, 'OvnPlugReady')).toMatchObject({
      status: 'True',
      lastTransitionTime: '2026-11-20T08:00:00Z',
      lastHeartbeatTime: '2026-11-25T10:00:30Z',
    });
    expect(condition(api, 'OvnPlugLegacyThing')).toBeUndefined();
    expect(condition(api, 'Ready')).toEqual(KUBELET_READY);
  });

  it('reports a start that never syncs once the startup grace is over', async () => {
    const previous = [
      {
        type: 'OvnPlugReady',
        status: 'True',
        reason: 'AllPortsBound',
        message: 'x',
        lastTransitionTime: '2026-11-20T08:00:00Z',
      },
    ];
    const { api, manager, patches } = setup({ conditions: previous });
    await manager.start();
    manager.update(startingSnapshot());
    await vi.advanceTimersByTimeAsync(59_000);
    expect(patches()).toBe(0);
    await vi.advanceTimersByTimeAsync(2000);
    expect(patches()).toBe(1);
    expect(condition(api, 'OvnPlugReady')).toMatchObject({
      status: 'False',
      reason: 'SouthboundDisconnected',
      lastTransitionTime: '2026-11-25T10:01:00Z',
    });
  });

  it('writes at once on a fresh node even before the agent has synced', async () => {
    const { api, manager } = setup();
    await manager.start();
    manager.update(startingSnapshot());
    await vi.advanceTimersByTimeAsync(1000);
    expect(condition(api, 'OvnPlugReady')).toMatchObject({
      status: 'False',
      reason: 'SouthboundDisconnected',
    });
  });

  it('keeps retrying to read the node at start and then applies the snapshot it was given meanwhile', async () => {
    const api = new FakeKubeApi();
    const manager = new NodeConditionManager({
      client: new KubeClient({ transport: api.transport }),
      nodeName: NODE,
    });
    const started = manager.start();
    manager.update(snapshot({ ports: [port('lp1')] }));
    await vi.advanceTimersByTimeAsync(3500);
    expect(api.count('GET')).toBeGreaterThanOrEqual(2);
    api.addNode(NODE);
    await vi.advanceTimersByTimeAsync(10_000);
    await started;
    expect(condition(api, 'OvnPlugReady')).toMatchObject({ status: 'True' });
    manager.stop();
  });

  it('removeConditions deletes only the agent conditions', async () => {
    const { api, manager } = setup();
    await manager.start();
    manager.update(snapshot());
    await manager.flush();
    expect(api.nodeConditions(NODE).map((c) => c['type'])).toEqual([
      'Ready',
      'OvnPlugReady',
      'OvnPlugDegraded',
    ]);
    await manager.removeConditions();
    expect(api.nodeConditions(NODE)).toEqual([KUBELET_READY]);
    expect(await removeNodeConditions(new KubeClient({ transport: api.transport }), NODE)).toBe(false);
  });
});
