/**
 * The chart's dashboard and alerts against a REAL Prometheus (Debian's package) scraping REAL
 * agents on the real OVN sandbox. The scrape config is derived from the chart's ServiceMonitor
 * (the Prometheus Operator's target labels plus the ServiceMonitor's relabelings, so `node` comes
 * from the pod's node name as in a cluster); targets come from a file_sd file standing in for
 * Kubernetes endpoints discovery. The rules are the chart's PrometheusRule with every `for:` set to
 * 0s (the bounds themselves are covered by the promtool tests, monitoring-rules.test.ts).
 *
 * hv1 runs a healthy agent with plugged ports: no alert names it at any point. hv2 runs an agent
 * given one fault after another, and each alert is seen firing for hv2 under its fault.
 */
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseCommandLine, runCli, startAgent, type AgentHandle } from '../../src/agent/index.js';
import {
  defaultRegistry,
  lspAdd,
  pickFreePort,
  startSandbox,
  SupervisedProcess,
  TOOL_PATH,
  waitPortBindingUp,
  waitUntil,
  type Sandbox,
} from '../harness/index.js';
import { createKubePki, writeTokenKubeconfig } from '../harness/kube/index.js';
import {
  alertRules,
  dashboard,
  fileSdTargets,
  PROMETHEUS,
  renderChart,
  requirePrometheusTools,
  ruleGroups,
  scrapeConfigs,
  type AgentTarget,
  type AlertRule,
  type Dashboard,
  type Manifest,
} from './support/monitoring.js';

const ZERO_FOR = Object.fromEntries(
  [
    'portsNotBoundFor',
    'dbDisconnectedFor',
    'providerUnavailableFor',
    'agentDownFor',
    'agentAbsentFor',
    'removalsHeldFor',
    'ovsTransactionErrorsFor',
    'kubeWriteErrorsFor',
  ].map((key) => [`metrics.prometheusRule.${key}`, '0s']),
);
/** What Grafana would substitute: `$node` is multi/includeAll with allValue `.*`. */
const RATE_INTERVAL = '1m';

let dir: string;
let sandbox: Sandbox;
let manifests: Manifest[];
let prometheus: SupervisedProcess | undefined;
let promUrl: string;
const sdFile = (): string => join(dir, 'targets.json');
const agents: AgentHandle[] = [];
const targets = new Map<string, AgentTarget>();
/** Alerts this suite has seen firing under their fault. */
const seenFiring = new Set<string>();

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

async function promGet<T>(path: string, params: Record<string, string> = {}): Promise<T> {
  const url = new URL(path, promUrl);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`${url.pathname}: ${body.error ?? res.status}`);
  return body.data;
}

async function query(expr: string): Promise<Sample[]> {
  const data = await promGet<{ resultType: string; result: Sample[] }>('/api/v1/query', { query: expr });
  expect(data.resultType, expr).toBe('vector');
  return data.result;
}

interface ActiveAlert {
  labels: Record<string, string>;
  state: string;
}

async function firing(): Promise<ActiveAlert[]> {
  const data = await promGet<{ alerts: ActiveAlert[] }>('/api/v1/alerts');
  return data.alerts.filter((a) => a.state === 'firing');
}

async function waitFiring(alertname: string, labels: Record<string, string>): Promise<ActiveAlert> {
  const alert = await waitUntil(
    async () =>
      (await firing()).find(
        (a) =>
          a.labels['alertname'] === alertname && Object.entries(labels).every(([k, v]) => a.labels[k] === v),
      ),
    { description: `${alertname} ${JSON.stringify(labels)} firing`, timeoutMs: 45_000, maxIntervalMs: 500 },
  );
  seenFiring.add(alertname);
  return alert;
}

async function writeTargets(): Promise<void> {
  const tmp = `${sdFile()}.tmp`;
  await writeFile(tmp, JSON.stringify(fileSdTargets([...targets.values()])));
  await rename(tmp, sdFile()); // file_sd never reads a half-written file
}

async function startNodeAgent(chassis: string, extra: string[]): Promise<AgentHandle> {
  const parsed = parseCommandLine(
    [
      `--ovs-db=${sandbox.node(chassis).ovs.dbRemote}`,
      '--listen=127.0.0.1:0',
      '--log-level=silent',
      '--resync-interval=2s',
      ...extra,
    ],
    {},
  );
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  const agent = await startAgent(parsed.config, { backoff: { minMs: 200, maxMs: 500 } });
  agents.push(agent);
  targets.set(chassis, {
    address: new URL(agent.url ?? '').host,
    nodeName: chassis,
    podName: `ovn-plug-agent-${chassis}`,
  });
  await writeTargets();
  return agent;
}

/** A dashboard target's expression as Grafana sends it: variables substituted. */
function panelQuery(expr: string, board: Dashboard): string {
  let out = expr.replaceAll('$__rate_interval', RATE_INTERVAL).replaceAll('$__interval', '15s');
  for (const variable of board.templating.list) {
    if (variable.type === 'datasource') continue;
    for (const form of [`\${${variable.name}}`, `[[${variable.name}]]`, `$${variable.name}`])
      out = out.replaceAll(form, '.*');
  }
  return out;
}

beforeAll(async () => {
  await requirePrometheusTools();
  dir = await mkdtemp(join(tmpdir(), 'h-prom-'));
  manifests = await renderChart(ZERO_FOR);
  sandbox = await startSandbox({ chassis: ['hv1', 'hv2'] });
  await writeTargets();
  const port = await pickFreePort();
  promUrl = `http://127.0.0.1:${port}`;
  await writeFile(join(dir, 'rules.yaml'), stringify({ groups: ruleGroups(manifests) }));
  await writeFile(
    join(dir, 'prometheus.yml'),
    stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s', scrape_timeout: '1s' },
      rule_files: [join(dir, 'rules.yaml')],
      scrape_configs: scrapeConfigs(manifests, sdFile(), '1s'),
    }),
  );
  prometheus = new SupervisedProcess(
    {
      name: 'prometheus',
      command: PROMETHEUS,
      args: [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      dir,
      env: { PATH: TOOL_PATH, HOME: dir },
      ready: async () => {
        try {
          return (await fetch(`${promUrl}/-/ready`)).ok;
        } catch {
          return false;
        }
      },
      readyTimeoutMs: 30_000,
    },
    defaultRegistry(),
  );
  await prometheus.start();
}, 120_000);

afterAll(async () => {
  for (const agent of agents) await agent.stop();
  await prometheus?.stop();
  await sandbox?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

const HEALTHY_PORTS = ['pm1', 'pm2', 'pm3'];

describe('the chart’s dashboard and alerts in a real Prometheus', () => {
  it('scrapes a healthy agent with the labels the ServiceMonitor gives it; every alert evaluates and stays silent', async () => {
    const agent = await startNodeAgent('hv1', ['--providers=dummy']);
    await waitUntil(async () => (await query('up{node="hv1"} == 1')).length === 1, {
      description: 'hv1 scraped',
      timeoutMs: 30_000,
    });
    // Ports plugged after the first scrape, so the latency histograms have a rate.
    for (const name of HEALTHY_PORTS)
      await lspAdd(sandbox.central, name, {
        options: { 'requested-chassis': 'hv1', 'vif-plug-type': 'dummy' },
      });
    for (const name of HEALTHY_PORTS) await waitPortBindingUp(sandbox.central, name);
    await waitUntil(async () => (await query('ovn_plug_ports{node="hv1",state="Bound"} == 3')).length === 1, {
      description: '3 Bound ports scraped from hv1',
      timeoutMs: 30_000,
    });
    const [up] = await query('up{node="hv1"}');
    expect(up?.metric).toMatchObject({
      job: 'ovn-plug-agent-metrics',
      namespace: 'ovn-plug',
      service: 'ovn-plug-agent-metrics',
      pod: 'ovn-plug-agent-hv1',
      endpoint: 'metrics',
      node: 'hv1',
    });
    const [build] = await query('ovn_plug_build_info{node="hv1"}');
    expect(build?.metric['version']).toMatch(/^\d+\.\d+\.\d+/);
    expect(build?.metric['node_version']).toBe(process.version);

    // Rules loaded from the chart, evaluated without error, and nothing fires for a healthy node.
    await waitUntil(
      async () => {
        const data = await promGet<{ groups: { rules: { name: string; health: string }[] }[] }>(
          '/api/v1/rules',
        );
        const rules = data.groups.flatMap((g) => g.rules);
        return rules.length === alertRules(manifests).length && rules.every((r) => r.health === 'ok');
      },
      { description: 'every rule evaluated with health ok', timeoutMs: 20_000 },
    );
    for (const rule of alertRules(manifests)) expect(await query(rule.expr), rule.alert).toEqual([]);
    expect(await firing()).toEqual([]);

    // The CLI on the same agent: what the dummy provider can plug and the ports it holds.
    const out: string[] = [];
    const code = await runCli(['providers', `--listen=${new URL(agent.url ?? '').host}`], {
      stdout: (t) => out.push(t),
      stderr: (t) => out.push(t),
    });
    expect(code).toBe(0);
    expect(out.join('')).not.toContain('nothing to plug');
    expect(out.join('')).toContain('holds 3 port(s):');
    for (const name of HEALTHY_PORTS)
      expect(out.join('')).toMatch(new RegExp(`^ +${name}\\s+${name}\\s+Bound$`, 'm'));
  });

  it('every dashboard panel query returns series while ports are plugged; faults on hv2 fire their alerts', async () => {
    const board = dashboard(manifests);
    // hv2: representor unavailable (no devlink), a port waiting for it, an API server that does
    // not answer, two interfaces of ours nobody wants at start (held by the removal guard).
    const hv2 = sandbox.node('hv2');
    for (const stale of ['stale-b1', 'stale-b2'])
      await hv2.ovs.vsctl(
        'add-port',
        'br-int',
        stale,
        '--',
        'set',
        'Interface',
        stale,
        'type=internal',
        `external_ids:iface-id=${stale}`,
        'external_ids:ovn-plug-agent=dummy',
      );
    const pki = await createKubePki(dir, { PATH: TOOL_PATH, HOME: dir });
    const kubeconfig = await writeTokenKubeconfig(join(dir, 'kubeconfig'), {
      server: `https://127.0.0.1:${await pickFreePort()}`,
      caFile: pki.caCert,
      token: 'unused',
      userName: 'agent',
    });
    await lspAdd(sandbox.central, 'pend-b', {
      options: { 'requested-chassis': 'hv2', 'vif-plug-type': 'representor' },
    });
    await startNodeAgent('hv2', [
      '--providers=dummy,representor',
      `--devlink-command=${join(dir, 'no-devlink')}`,
      '--node-name=hv2',
      `--kubeconfig=${kubeconfig}`,
      '--mass-removal-grace=10m',
    ]);

    await waitFiring('OvnPlugProviderUnavailable', { node: 'hv2', provider: 'representor' });
    await waitFiring('OvnPlugPortsNotBound', { node: 'hv2' });
    await waitFiring('OvnPlugRemovalsHeld', { node: 'hv2' });
    await waitFiring('OvnPlugKubeWriteErrors', { node: 'hv2' });

    const empty: string[] = [];
    const evaluated: string[] = [];
    for (const panel of board.panels) {
      for (const target of panel.targets ?? []) {
        const expr = panelQuery(target.expr, board);
        const result = await query(expr);
        evaluated.push(`${panel.title}: ${expr} → ${result.length} series`);
        if (result.length === 0) empty.push(`${panel.title}: ${expr}`);
        if (/latency/i.test(panel.title))
          expect(
            result.every((s) => Number.isFinite(Number(s.value[1]))),
            expr,
          ).toBe(true);
      }
    }
    console.log(`dashboard queries evaluated:\n  ${evaluated.join('\n  ')}`);
    expect(empty).toEqual([]);
    expect(evaluated.length).toBeGreaterThanOrEqual(board.panels.length);
    expect((await firing()).filter((a) => a.labels['node'] === 'hv1')).toEqual([]);
  });

  it('OVS transaction errors, a lost database, a dead agent and no agent at all fire their alerts', async () => {
    const hv2 = sandbox.node('hv2');
    // The local database turns read-only (backup of an unreachable active server): the agent's
    // next write is rejected by the real ovsdb-server.
    await hv2.ovs.ovsdb.appctl(
      'ovsdb-server/set-active-ovsdb-server',
      `tcp:127.0.0.1:${await pickFreePort()}`,
    );
    await hv2.ovs.ovsdb.appctl('ovsdb-server/connect-active-ovsdb-server');
    await lspAdd(sandbox.central, 'txerr-b', {
      options: { 'requested-chassis': 'hv2', 'vif-plug-type': 'dummy' },
    });
    await waitFiring('OvnPlugOvsTransactionErrors', { node: 'hv2' });

    await hv2.ovs.ovsdb.process.stop();
    await waitFiring('OvnPlugDatabaseDisconnected', { node: 'hv2', db: 'ovs' });

    const agentB = agents[1];
    await agentB?.stop();
    await waitFiring('OvnPlugAgentDown', { node: 'hv2' });
    expect((await firing()).filter((a) => a.labels['node'] === 'hv1')).toEqual([]);

    targets.clear();
    await writeTargets();
    await waitFiring('OvnPlugAgentAbsent', {});
    console.log(`alerts seen firing under their faults: ${[...seenFiring].sort().join(', ')}`);
    expect([...seenFiring].sort()).toEqual(
      alertRules(manifests)
        .map((r: AlertRule) => r.alert)
        .sort(),
    );
  });
});
