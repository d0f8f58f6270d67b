import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { resolveKubeConnection, startKubeStatusSinks } from './sinks.js';
import { FakeKubeApi } from './testing/fake-kube-api.js';
import { port, snapshot } from './testing/status-builders.js';

describe('startKubeStatusSinks', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-11-25T10:00:00Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('feeds every snapshot to the node conditions and the PortPlug objects', async () => {
    const api = new FakeKubeApi();
    api.addNode('dpu-1');
    const sinks = startKubeStatusSinks({ nodeName: 'dpu-1', transport: api.transport });
    await sinks.ready;
    sinks.update(snapshot({ ports: [port('lp1', { state: 'Failed' })] }));
    await vi.advanceTimersByTimeAsync(1000);
    await sinks.portPlugs?.idle();
    expect(api.nodeConditions('dpu-1').map((c) => [c['type'], c['status']])).toEqual([
      ['OvnPlugReady', 'False'],
      ['OvnPlugDegraded', 'True'],
    ]);
    expect([...api.portPlugs.keys()]).toEqual(['dpu-1.lp1']);
    expect(api.events.size).toBe(1);
    await sinks.stop();
    sinks.update(snapshot({ ports: [] }));
    await vi.advanceTimersByTimeAsync(5000);
    expect(api.portPlugs.size).toBe(1);
  });

  it('can run with only one sink and without events', async () => {
    const api = new FakeKubeApi();
    api.addNode('dpu-1');
    const sinks = startKubeStatusSinks({
      nodeName: 'dpu-1',
      transport: api.transport,
      conditions: false,
      events: false,
    });
    await sinks.ready;
    sinks.update(snapshot({ ports: [port('lp1', { state: 'Conflict' })] }));
    await vi.advanceTimersByTimeAsync(1000);
    await sinks.portPlugs?.idle();
    expect(sinks.conditions).toBeUndefined();
    expect(api.nodeConditions('dpu-1')).toEqual([]);
    expect(api.portPlugs.size).toBe(1);
    expect(api.events.size).toBe(0);
  });

  it('needs a way to reach the API server', () => {
    expect(() => startKubeStatusSinks({ nodeName: 'n' })).toThrow(
      'needs a client, a transport or a connection',
    );
  });

  it('falls back to the in-cluster configuration without a kubeconfig, naming what is missing', () => {
    expect(() => resolveKubeConnection({ env: {} })).toThrow('not running in a pod');
  });
});
