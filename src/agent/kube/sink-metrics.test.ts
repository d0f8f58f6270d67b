import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AgentMetrics } from '../metrics.js';
import { PORT_PLUGS_PATH } from './port-plug-resource.js';
import { startKubeStatusSinks, type KubeStatusSinksOptions } from './sinks.js';
import { FakeKubeApi } from './testing/fake-kube-api.js';
import { port, snapshot } from './testing/status-builders.js';

const NODE = 'dpu-1';
const EVENTS_PATH = '/api/v1/namespaces/default/events';
const NODE_PATH = `/api/v1/nodes/${NODE}`;

function setup(portPlugs: KubeStatusSinksOptions['portPlugs'] = { backoff: { jitter: 0 } }) {
  const api = new FakeKubeApi();
  api.addNode(NODE);
  const registry = new Registry();
  const metrics = new AgentMetrics(registry);
  const sinks = startKubeStatusSinks({
    nodeName: NODE,
    transport: api.transport,
    observer: metrics.kubeObserver(),
    conditions: { backoff: { jitter: 0 } },
    portPlugs,
  });
  return { api, registry, sinks };
}

async function requests(registry: Registry, kind: string, outcome: string): Promise<number> {
  const values = (await registry.getSingleMetric('ovn_plug_kube_requests_total')?.get())?.values ?? [];
  return values.find((v) => v.labels['kind'] === kind && v.labels['outcome'] === outcome)?.value ?? NaN;
}

async function pendingWrites(registry: Registry): Promise<number> {
  return (await registry.getSingleMetric('ovn_plug_kube_pending_writes')?.get())?.values[0]?.value ?? NaN;
}

async function allRequests(registry: Registry): Promise<number> {
  const values = (await registry.getSingleMetric('ovn_plug_kube_requests_total')?.get())?.values ?? [];
  return values.reduce((sum, v) => sum + v.value, 0);
}

describe('Kubernetes sink metrics', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-11-25T10:00:00Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('exports every series at zero before the first request', async () => {
    const registry = new Registry();
    new AgentMetrics(registry);
    for (const kind of ['node_status', 'portplug', 'event'])
      for (const outcome of ['success', 'error']) expect(await requests(registry, kind, outcome)).toBe(0);
    expect(await pendingWrites(registry)).toBe(0);
  });

  it('counts each successful request under the sink that made it, and nothing else', async () => {
    const { api, registry, sinks } = setup();
    await sinks.ready;
    sinks.update(snapshot({ ports: [port('lp1'), port('lp2', { state: 'Failed', reason: 'NoSuchPF' })] }));
    await vi.advanceTimersByTimeAsync(1000);
    await sinks.portPlugs?.idle();

    const nodeRequests = api.requests.filter((r) => r.path === NODE_PATH || r.path === `${NODE_PATH}/status`);
    const portPlugRequests = api.requests.filter(
      (r) => r.path.startsWith(PORT_PLUGS_PATH) || r.path === NODE_PATH,
    );
    // Both sinks read the Node at start; the syncer's read counts as `portplug`.
    expect(await requests(registry, 'node_status', 'success')).toBe(nodeRequests.length - 1);
    expect(api.count('PATCH', `${NODE_PATH}/status`)).toBe(1);
    expect(await requests(registry, 'portplug', 'success')).toBe(portPlugRequests.length - 1);
    expect(api.count('POST', PORT_PLUGS_PATH)).toBe(2);
    expect(await requests(registry, 'event', 'success')).toBe(1);
    expect(api.count('POST', EVENTS_PATH)).toBe(1);
    expect(await allRequests(registry)).toBe(api.requests.length);
    for (const kind of ['node_status', 'portplug', 'event'])
      expect(await requests(registry, kind, 'error')).toBe(0);
    await sinks.stop();
  });

  it('counts failed requests as errors and the retries that succeed as successes', async () => {
    const { api, registry, sinks } = setup();
    await sinks.ready;
    api.failNext(2, 503, 'POST', PORT_PLUGS_PATH);
    api.failNext(1, 500, 'PATCH', `${NODE_PATH}/status`);
    api.failNext(1, 503, 'POST', EVENTS_PATH);
    sinks.update(snapshot({ ports: [port('lp1', { state: 'Conflict', reason: 'OwnedElsewhere' })] }));
    await vi.advanceTimersByTimeAsync(60_000);
    await sinks.portPlugs?.idle();

    expect(await requests(registry, 'portplug', 'error')).toBe(2);
    expect(await requests(registry, 'node_status', 'error')).toBe(1);
    expect(await requests(registry, 'event', 'error')).toBe(1);
    expect(api.portPlugs.size).toBe(1);
    expect(api.events.size).toBe(1);
    expect(api.nodeConditions(NODE).length).toBeGreaterThan(0);
    expect(await requests(registry, 'event', 'success')).toBe(1);
    expect(await requests(registry, 'node_status', 'success')).toBeGreaterThanOrEqual(2);
    expect(await allRequests(registry)).toBe(api.requests.length);
    await sinks.stop();
  });

  it('reports the PortPlug backlog while the rate limiter holds it and zero once drained', async () => {
    const { api, registry, sinks } = setup({ writesPerSecond: 2, burst: 2, backoff: { jitter: 0 } });
    await sinks.ready;
    const ports = Array.from({ length: 10 }, (_, i) => port(`lp${i}`));
    sinks.update(snapshot({ ports }));
    await vi.advanceTimersByTimeAsync(0);
    const early = await pendingWrites(registry);
    expect(early).toBeGreaterThanOrEqual(8);
    expect(early).toBeLessThanOrEqual(10);
    expect(early).toBe(sinks.portPlugs?.pendingWrites);

    await vi.advanceTimersByTimeAsync(3000);
    const later = await pendingWrites(registry);
    expect(later).toBeLessThan(early);
    expect(later).toBeGreaterThan(0);

    await vi.advanceTimersByTimeAsync(30_000);
    await sinks.portPlugs?.idle();
    expect(api.portPlugs.size).toBe(10);
    expect(await pendingWrites(registry)).toBe(0);
    await sinks.stop();
  });
});
