/**
 * The chart's monitoring parts as the tests use them: rendered by the REAL helm (`helm template`),
 * never copied by hand. The alert rules come out of the PrometheusRule, the scrape config out of
 * the ServiceMonitor (its relabelings applied as the Prometheus Operator would), the dashboard
 * out of its ConfigMap. promtool and prometheus are Debian's `prometheus` package
 * (scripts/install-deps.sh installs it).
 */
import { access, constants, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { findKubeTools } from '../../harness/kube/index.js';
import { runCommand, TOOL_PATH } from '../../harness/index.js';

export const CHART = resolve('deploy/helm/ovn-plug-agent');
export const RELEASE = 'ovn-plug-agent';
export const NAMESPACE = 'ovn-plug';
/** The job label the Prometheus Operator gives the chart's ServiceMonitor targets (the Service's name). */
export const AGENT_JOB = `${RELEASE}-metrics`;
export const PROMTOOL = '/usr/bin/promtool';
export const PROMETHEUS = '/usr/bin/prometheus';

export interface Manifest {
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly [key: string]: unknown;
}

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

export interface RuleGroup {
  readonly name: string;
  readonly rules: readonly AlertRule[];
}

/** Fails with the install command when Debian's `prometheus` package is missing. */
export async function requirePrometheusTools(): Promise<void> {
  for (const path of [PROMTOOL, PROMETHEUS]) {
    try {
      await access(path, constants.X_OK);
    } catch {
      throw new Error(
        `${path} not found: install Debian's prometheus package (bash scripts/install-deps.sh does)`,
      );
    }
  }
}

/** `helm template` of the chart with the monitoring parts on, plus `--set` pairs from `values`. */
export async function renderChart(values: Readonly<Record<string, string>> = {}): Promise<Manifest[]> {
  const { helm } = await findKubeTools();
  const home = await mkdtemp(join(tmpdir(), 'h-helm-'));
  try {
    const sets = Object.entries({
      'metrics.serviceMonitor.enabled': 'true',
      'metrics.prometheusRule.enabled': 'true',
      'metrics.grafanaDashboard.enabled': 'true',
      ...values,
    }).flatMap(([key, value]) => ['--set', `${key}=${value}`]);
    const { stdout } = await runCommand(
      helm,
      ['template', RELEASE, CHART, '--namespace', NAMESPACE, ...sets],
      {
        env: {
          PATH: TOOL_PATH,
          HOME: home,
          HELM_CACHE_HOME: join(home, 'cache'),
          HELM_CONFIG_HOME: join(home, 'config'),
          HELM_DATA_HOME: join(home, 'data'),
        },
        timeoutMs: 60_000,
      },
    );
    return parseAllDocuments(stdout)
      .map((doc) => doc.toJS() as Manifest | null)
      .filter((m): m is Manifest => m !== null);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

function only(manifests: readonly Manifest[], kind: string, nameSuffix = ''): Manifest {
  const found = manifests.filter((m) => m.kind === kind && m.metadata.name.endsWith(nameSuffix));
  if (found.length !== 1) throw new Error(`expected one ${kind} in the chart, found ${found.length}`);
  return found[0] as Manifest;
}

/** The alert groups of the chart's PrometheusRule, as a Prometheus rules file wants them. */
export function ruleGroups(manifests: readonly Manifest[]): RuleGroup[] {
  const spec = only(manifests, 'PrometheusRule')['spec'] as { groups: RuleGroup[] };
  return spec.groups;
}

/** Every alert of every group. */
export function alertRules(manifests: readonly Manifest[]): AlertRule[] {
  return ruleGroups(manifests).flatMap((group) => group.rules);
}

/** The Grafana dashboard JSON shipped in the chart's ConfigMap. */
export function dashboard(manifests: readonly Manifest[]): Dashboard {
  const data = only(manifests, 'ConfigMap', '-dashboard')['data'] as Record<string, string>;
  return JSON.parse(data['ovn-plug-agent.json'] ?? '') as Dashboard;
}

export interface Dashboard {
  readonly templating: { readonly list: readonly { readonly name: string; readonly type: string }[] };
  readonly panels: readonly {
    readonly title: string;
    readonly targets?: readonly { readonly expr: string; readonly refId?: string }[];
  }[];
}

interface Relabeling {
  readonly sourceLabels?: readonly string[];
  readonly separator?: string;
  readonly targetLabel?: string;
  readonly regex?: string;
  readonly modulus?: number;
  readonly replacement?: string;
  readonly action?: string;
}

interface ServiceMonitorEndpoint {
  readonly port: string;
  readonly path?: string;
  readonly interval?: string;
  readonly relabelings?: readonly Relabeling[];
  readonly metricRelabelings?: readonly Relabeling[];
}

/** One relabeling in Prometheus' snake_case form (the operator's field names are camelCase). */
function toPrometheusRelabel(r: Relabeling): Record<string, unknown> {
  return {
    ...(r.sourceLabels === undefined ? {} : { source_labels: r.sourceLabels }),
    ...(r.separator === undefined ? {} : { separator: r.separator }),
    ...(r.targetLabel === undefined ? {} : { target_label: r.targetLabel }),
    ...(r.regex === undefined ? {} : { regex: r.regex }),
    ...(r.modulus === undefined ? {} : { modulus: r.modulus }),
    ...(r.replacement === undefined ? {} : { replacement: r.replacement }),
    ...(r.action === undefined ? {} : { action: r.action.toLowerCase() }),
  };
}

/** What Kubernetes endpoints discovery would know about one agent pod (file_sd stands in for it). */
export interface AgentTarget {
  /** host:port of the agent's /metrics. */
  readonly address: string;
  readonly nodeName: string;
  readonly podName: string;
}

/**
 * A Prometheus scrape config equivalent to what the Prometheus Operator generates for the chart's
 * ServiceMonitor: job `serviceMonitor/<ns>/<name>/<i>`, the operator's own target labels
 * (namespace, service, pod, container, endpoint, job = the Service's name), then the
 * ServiceMonitor's relabelings verbatim. The targets come from a file_sd file whose entries carry
 * the `__meta_kubernetes_*` labels endpoints discovery would set (see {@link fileSdTargets}).
 */
export function scrapeConfigs(
  manifests: readonly Manifest[],
  fileSdPath: string,
  scrapeInterval: string,
): Record<string, unknown>[] {
  const monitor = only(manifests, 'ServiceMonitor');
  const service = only(manifests, 'Service', '-metrics');
  // The operator's job label is the selected Service's name; the alerts' `job=` must match it.
  if (service.metadata.name !== AGENT_JOB)
    throw new Error(`metrics Service is ${service.metadata.name}, the alerts expect job ${AGENT_JOB}`);
  const spec = monitor['spec'] as { endpoints: ServiceMonitorEndpoint[] };
  return spec.endpoints.map((endpoint, i) => ({
    job_name: `serviceMonitor/${NAMESPACE}/${monitor.metadata.name}/${i}`,
    metrics_path: endpoint.path ?? '/metrics',
    scrape_interval: scrapeInterval,
    file_sd_configs: [{ files: [fileSdPath], refresh_interval: '1s' }],
    relabel_configs: [
      // The operator keeps only endpoints of the named port, then sets these target labels.
      {
        source_labels: ['__meta_kubernetes_endpoint_port_name'],
        regex: endpoint.port,
        action: 'keep',
      },
      { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
      { source_labels: ['__meta_kubernetes_service_name'], target_label: 'service' },
      { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
      { source_labels: ['__meta_kubernetes_pod_container_name'], target_label: 'container' },
      { source_labels: ['__meta_kubernetes_service_name'], target_label: 'job', replacement: '${1}' },
      { target_label: 'endpoint', replacement: endpoint.port },
      ...(endpoint.relabelings ?? []).map(toPrometheusRelabel),
    ],
    ...(endpoint.metricRelabelings === undefined
      ? {}
      : { metric_relabel_configs: endpoint.metricRelabelings.map(toPrometheusRelabel) }),
  }));
}

/** file_sd content: the agents as endpoints discovery of the chart's metrics Service sees them. */
export function fileSdTargets(targets: readonly AgentTarget[]): unknown[] {
  return targets.map((t) => ({
    targets: [t.address],
    labels: {
      __meta_kubernetes_namespace: NAMESPACE,
      __meta_kubernetes_service_name: AGENT_JOB,
      __meta_kubernetes_endpoint_port_name: 'metrics',
      __meta_kubernetes_pod_name: t.podName,
      __meta_kubernetes_pod_container_name: 'agent',
      __meta_kubernetes_pod_node_name: t.nodeName,
    },
  }));
}
