import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { AgentMetrics, portsWithInfo } from '../../src/agent/metrics.js';
import { degradingState } from '../../src/agent/status/degrading.js';
import { parseCommandLine, usage } from '../../src/agent/config.js';
import type { AgentStatus, PortStatus } from '../../src/agent/status/types.js';
import type { PortState } from '../../src/plug/states.js';

function port(logicalPort: string, state: PortState, extra: Partial<PortStatus> = {}): PortStatus {
  return {
    logicalPort,
    state,
    reason: state,
    message: '',
    provider: 'dummy',
    interfaceName: logicalPort,
    firstSeenMs: 0,
    sinceMs: 0,
    ...extra,
  };
}

function snapshot(ports: PortStatus[]): AgentStatus {
  return {
    chassis: 'hv1',
    integrationBridge: 'br-int',
    sb: { state: 'monitoring', synced: true, reconnects: 0 },
    ovs: { state: 'monitoring', synced: true, reconnects: 0 },
    providers: [{ type: 'dummy', available: true }],
    ports,
    generatedAtMs: 0,
  };
}

async function scrape(registry: Registry): Promise<string> {
  return registry.metrics();
}

function lines(text: string, metric: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${metric}{`) || l.startsWith(`${metric} `));
}

describe('what degrades the node (DESIGN §3.5)', () => {
  it('Pending, Plugging, Plugged, Failed and Conflict degrade; Bound, Unplugging and other states do not', () => {
    for (const state of ['Pending', 'Plugging', 'Plugged', 'Failed', 'Conflict'] as const)
      expect(degradingState(port('a', state))).toBe(state);
    for (const state of ['Bound', 'Unplugging'] as const)
      expect(degradingState(port('a', state))).toBeUndefined();
    // `Down` (a stopped VM's link) is informational: not a degrading state, whenever it is added.
    expect(degradingState(port('a', 'Down'))).toBeUndefined();
  });

  it('a port plugged by ovn-controller itself never degrades, whatever its state', () => {
    for (const state of ['Conflict', 'Failed', 'Pending', 'Bound'] as const)
      expect(degradingState(port('a', state, { pluggedByOvnController: true }))).toBeUndefined();
  });

  it('ovn_plug_ports_degrading counts only degrading ports; ovn_plug_ports counts all', async () => {
    const registry = new Registry();
    const metrics = new AgentMetrics(registry);
    metrics.recordSnapshot(
      snapshot([
        port('a', 'Bound'),
        port('b', 'Failed'),
        port('c', 'Conflict', { pluggedByOvnController: true }),
        port('d', 'Pending'),
        port('e', 'Down'),
      ]),
    );
    const text = await scrape(registry);
    expect(lines(text, 'ovn_plug_ports_degrading').sort()).toEqual([
      'ovn_plug_ports_degrading{state="Conflict"} 0',
      'ovn_plug_ports_degrading{state="Failed"} 1',
      'ovn_plug_ports_degrading{state="Pending"} 1',
      'ovn_plug_ports_degrading{state="Plugged"} 0',
      'ovn_plug_ports_degrading{state="Plugging"} 0',
    ]);
    expect(text).toContain('ovn_plug_ports{state="Conflict"} 1');
  });
});

describe('ovn_plug_build_info', () => {
  it('is 1 with the version and Node.js labels, `unknown` when no build is given', async () => {
    const registry = new Registry();
    new AgentMetrics(registry, { build: { version: '0.1.0', nodeVersion: 'v20.19.0' } });
    expect(await scrape(registry)).toContain(
      'ovn_plug_build_info{version="0.1.0",node_version="v20.19.0"} 1',
    );
    const bare = new Registry();
    new AgentMetrics(bare);
    expect(await scrape(bare)).toContain('ovn_plug_build_info{version="unknown",node_version="unknown"} 1');
  });
});

describe('per-port series bound (--metrics-port-info-limit)', () => {
  const many = [
    ...Array.from({ length: 6 }, (_, i) => port(`b${i}`, 'Bound')),
    port('z-failed', 'Failed'),
    port('a-pending', 'Pending'),
    port('m-down', 'Down'),
  ];

  it('keeps one series per port up to the limit (today’s behaviour at the default)', async () => {
    const registry = new Registry();
    const metrics = new AgentMetrics(registry);
    metrics.recordSnapshot(snapshot(many));
    const text = await scrape(registry);
    expect(lines(text, 'ovn_plug_port_info')).toHaveLength(many.length);
    expect(text).toContain('ovn_plug_port_info_omitted 0');
  });

  it('above the limit keeps only ports that are not Bound, by name, at most the limit', async () => {
    expect(portsWithInfo(many, 9).map((p) => p.logicalPort)).toHaveLength(9);
    expect(portsWithInfo(many, 8).map((p) => p.logicalPort)).toEqual(['a-pending', 'm-down', 'z-failed']);
    expect(portsWithInfo(many, 2).map((p) => p.logicalPort)).toEqual(['a-pending', 'm-down']);
    const registry = new Registry();
    const metrics = new AgentMetrics(registry, { portInfoLimit: 2 });
    metrics.recordSnapshot(snapshot(many));
    const text = await scrape(registry);
    expect(lines(text, 'ovn_plug_port_info')).toHaveLength(2);
    expect(text).toContain('ovn_plug_port_info_omitted 7');
    // The per-state counts stay complete.
    expect(text).toContain('ovn_plug_ports{state="Bound"} 6');
  });

  it('0 turns the per-port series off', async () => {
    const registry = new Registry();
    const metrics = new AgentMetrics(registry, { portInfoLimit: 0 });
    metrics.recordSnapshot(snapshot(many));
    const text = await scrape(registry);
    expect(lines(text, 'ovn_plug_port_info')).toEqual([]);
    expect(text).toContain(`ovn_plug_port_info_omitted ${many.length}`);
  });

  it('is a flag with an environment twin, default 2000, and a clear error for a bad value', () => {
    const parse = (argv: string[], env: Record<string, string> = {}): ReturnType<typeof parseCommandLine> =>
      parseCommandLine(argv, env);
    const byDefault = parse([]);
    expect(byDefault.ok && byDefault.config.metricsPortInfoLimit).toBe(2000);
    const flag = parse(['--metrics-port-info-limit=0']);
    expect(flag.ok && flag.config.metricsPortInfoLimit).toBe(0);
    const env = parse([], { OVN_PLUG_AGENT_METRICS_PORT_INFO_LIMIT: '500' });
    expect(env.ok && env.config.metricsPortInfoLimit).toBe(500);
    const bad = parse(['--metrics-port-info-limit=-3']);
    expect(bad.ok ? [] : bad.errors).toEqual(['--metrics-port-info-limit: "-3" is not a whole number ≥ 0']);
    expect(usage()).toContain('--metrics-port-info-limit=N');
  });
});

describe('--help', () => {
  it('lists every path the HTTP endpoint serves, /providers included', () => {
    expect(usage()).toContain('/metrics /healthz /readyz /status /providers');
  });
});
