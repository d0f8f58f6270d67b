import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { startHttpServer, type HttpServerHandle } from '../../src/agent/http.js';
import { AgentMetrics } from '../../src/agent/metrics.js';
import { formatProvidersTable, formatStatusTable } from '../../src/agent/status/table.js';
import type { AgentStatus } from '../../src/agent/status/types.js';

const status = (over: Partial<AgentStatus> = {}): AgentStatus => ({
  chassis: 'hv1',
  integrationBridge: 'br-int',
  sb: { state: 'monitoring', synced: true, reconnects: 1, remote: 'tcp:127.0.0.1:6642' },
  ovs: { state: 'monitoring', synced: true, reconnects: 0 },
  providers: [
    { type: 'dummy', available: true },
    { type: 'representor', available: false, reason: 'devlink: No such file or directory' },
  ],
  ports: [
    {
      logicalPort: 'lsp1',
      state: 'Bound',
      reason: 'Bound',
      message: 'bound',
      provider: 'dummy',
      interfaceName: 'lsp1',
      ofport: 3,
      firstSeenMs: 0,
      sinceMs: 1000,
      plugLatencyMs: 40,
      bindLatencyMs: 900,
    },
    {
      logicalPort: 'lsp2',
      state: 'Pending',
      reason: 'RepresentorNotFound',
      message: 'no PF with MAC "00:53:00:00:00:42"',
      provider: 'representor',
      firstSeenMs: 0,
      sinceMs: 0,
    },
  ],
  generatedAtMs: 5000,
  ...over,
});

describe('HTTP endpoint', () => {
  let server: HttpServerHandle | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function start(current: () => AgentStatus, healthy = true): Promise<HttpServerHandle> {
    const registry = new Registry();
    const metrics = new AgentMetrics(registry);
    metrics.recordSnapshot(current());
    metrics.transaction('success');
    metrics.observeBindLatency(900);
    server = await startHttpServer(
      { host: '127.0.0.1', port: 0 },
      {
        registry,
        status: current,
        health: () =>
          healthy ? { ok: true, problems: [] } : { ok: false, problems: ['OVS DB monitor closed'] },
        providers: () => [
          {
            type: 'dummy',
            available: true,
            items: [{ id: 'lsp1', name: 'lsp1', details: {}, logicalPort: 'lsp1' }],
          },
        ],
        now: () => 7000,
      },
    );
    return server;
  }

  it('serves ovn_plug_ metrics with per-state counts and bounded per-port info', async () => {
    const { url } = await start(() => status());
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('ovn_plug_ports{state="Bound"} 1');
    expect(text).toContain('ovn_plug_ports{state="Pending"} 1');
    expect(text).toContain('ovn_plug_ports{state="Conflict"} 0');
    expect(text).toContain(
      'ovn_plug_port_info{logical_port="lsp1",interface="lsp1",provider="dummy",state="Bound"} 1',
    );
    expect(text).toContain('ovn_plug_provider_available{provider="representor"} 0');
    expect(text).toContain('ovn_plug_db_connected{db="sb"} 1');
    expect(text).toContain('ovn_plug_ovs_transactions_total{outcome="success"} 1');
    expect(text).toContain('ovn_plug_bind_latency_seconds_bucket{le="1"} 1');
  });

  it('answers /status with the snapshot JSON and /readyz by sync state', async () => {
    let current = status();
    const { url } = await start(() => current);
    // The snapshot as built at the last round (generatedAtMs) plus when the agent answered.
    expect(await (await fetch(`${url}/status`)).json()).toEqual({ ...current, answeredAtMs: 7000 });
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    current = status({ sb: { state: 'connecting', synced: false, reconnects: 0 } });
    const notReady = await fetch(`${url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.text()).toContain('Southbound DB not synced (state connecting)');
  });

  it('answers /healthz 503 with the problem, 404 for unknown paths, 405 for POST', async () => {
    const { url } = await start(() => status(), false);
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(503);
    expect(await health.text()).toContain('OVS DB monitor closed');
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    expect((await fetch(`${url}/status`, { method: 'POST' })).status).toBe(405);
    expect(await (await fetch(`${url}/providers`)).json()).toMatchObject([
      { type: 'dummy', items: [{ logicalPort: 'lsp1' }] },
    ]);
  });

  it('reports a busy port naming the address', async () => {
    const first = await start(() => status());
    await expect(
      startHttpServer(
        { host: '127.0.0.1', port: first.port },
        { registry: new Registry(), status, health: () => ({ ok: true, problems: [] }), providers: () => [] },
      ),
    ).rejects.toThrow(`cannot listen on 127.0.0.1:${first.port}`);
  });
});

describe('status table', () => {
  it('prints one aligned row per port with state, reason, interface and message', () => {
    const text = formatStatusTable(status(), 61_000);
    const lines = text.split('\n');
    expect(lines[0]).toBe('chassis: hv1   bridge: br-int');
    expect(text).toContain('representor (unavailable: devlink: No such file or directory)');
    const header = lines.find((l) => l.startsWith('LOGICAL PORT'));
    expect(header).toMatch(
      /^LOGICAL PORT\s+STATE\s+REASON\s+INTERFACE\s+OFPORT\s+PROVIDER\s+SINCE\s+BIND\s+MESSAGE$/,
    );
    const row = lines.find((l) => l.startsWith('lsp1'));
    expect(row).toMatch(/^lsp1\s+Bound\s+Bound\s+lsp1\s+3\s+dummy\s+1m0s\s+0\.90s\s+bound$/);
    expect(lines.find((l) => l.startsWith('lsp2'))).toContain('no PF with MAC "00:53:00:00:00:42"');
    expect(header?.indexOf('STATE')).toBe(row?.indexOf('Bound'));
  });

  it('lists provider inventories with the logical port using each item', () => {
    const text = formatProvidersTable([
      {
        type: 'representor',
        available: true,
        items: [{ id: 'c1/pf0/vf0', name: 'pf0vf0', details: { vfNum: 0 }, logicalPort: 'vm1' }],
        notes: ['SFs not enabled'],
      },
      { type: 'dummy', available: true },
    ]);
    expect(text).toMatch(/c1\/pf0\/vf0\s+pf0vf0\s+vm1\s+vfNum=0/);
    expect(text).toContain('note: SFs not enabled');
    expect(text).toContain('dummy: available\n  (no inventory');
  });

  it('says what an on-demand provider can plug and lists the ports it holds', () => {
    const text = formatProvidersTable([
      {
        type: 'dummy',
        available: true,
        items: [],
        notes: ['can plug any logical port: an OVS internal interface named after the port'],
        ports: [
          { logicalPort: 'vm1', interfaceName: 'vm1', state: 'Bound' },
          { logicalPort: 'vm2', interfaceName: 'vm2', state: 'Plugged' },
        ],
      },
      { type: 'representor', available: true, items: [], ports: [] },
    ]);
    expect(text).not.toContain('nothing to plug');
    expect(text).toContain('dummy: available\n  no fixed list of plug targets (see the note)\n');
    expect(text).toContain('  note: can plug any logical port');
    expect(text).toContain('  holds 2 port(s):');
    expect(text).toMatch(/^ {4}vm2\s+vm2\s+Plugged$/m);
    expect(text).toContain('representor: available\n  nothing it could plug right now\n  holds no ports\n');
  });

  it('lists provider warnings of ports that otherwise work below the table, and nothing without them', () => {
    expect(formatStatusTable(status(), 61_000)).not.toContain('warnings:');
    const base = status();
    const [first, ...rest] = base.ports;
    if (first === undefined) throw new Error('fixture has no port');
    const text = formatStatusTable(
      {
        ...base,
        ports: [
          { ...first, warnings: ['PortFunctionUnsupported: roce is not supported by devlink'] },
          ...rest,
        ],
      },
      61_000,
    );
    expect(text).toMatch(
      /\nwarnings:\n {2}lsp1: PortFunctionUnsupported: roce is not supported by devlink\n$/,
    );
  });

  it('shows how old the snapshot is at the time of the answer', () => {
    const text = formatStatusTable(
      status({ generatedAtMs: Date.parse('2026-12-04T05:00:00Z') }),
      Date.parse('2026-12-04T05:00:42Z'),
    );
    expect(text).toContain('snapshot:   2026-12-04T05:00:00.000Z (42s old)');
  });
});
