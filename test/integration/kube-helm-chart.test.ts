/**
 * The Helm chart against the REAL helm and kube-apiserver: lint, template (every optional part),
 * install (CRDs from the chart's crds/), and the agent ServiceAccount's permissions checked with
 * `kubectl auth can-i`: everything the sinks need is allowed, and a list of neighbouring verbs
 * and resources is denied.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import { parse, parseAllDocuments } from 'yaml';
import { Registry } from 'prom-client';
import { AgentMetrics } from '../../src/agent/metrics.js';
import { parseCommandLine } from '../../src/agent/config.js';
import {
  PORT_PLUG_GROUP,
  PORT_PLUG_KIND,
  PORT_PLUG_PLURAL,
  PORT_PLUG_VERSION,
} from '../../src/agent/kube/index.js';
import { PORT_STATES } from '../../src/plug/states.js';
import { startKubeApiServer, type KubeApiServer } from '../harness/kube/index.js';

const CHART = resolve('deploy/helm/ovn-plug-agent');
const NAMESPACE = 'ovn-plug';
const RELEASE = 'ovn-plug-agent';
const AGENT = `system:serviceaccount:${NAMESPACE}:${RELEASE}`;
const ALL_OPTIONS = [
  '--set',
  'metrics.serviceMonitor.enabled=true',
  '--set',
  'metrics.prometheusRule.enabled=true',
  '--set',
  'metrics.grafanaDashboard.enabled=true',
  '--set',
  'ovnsbTls.secretName=sb-tls',
  '--set',
  'agent.ovnsbDb=ssl:192.0.2.1:6642\\,ssl:192.0.2.2:6642',
  '--set',
  'agent.chassis=dpu-chassis-1',
  '--set',
  'agent.providers=dummy\\,representor',
  '--set',
  'agent.providerModules[0]=/opt/providers/acme.js',
  '--set',
  'agent.logLevel=debug',
  '--set',
  'agent.representorDatapath=doca',
  '--set',
  'agent.dpdkRepresentorSyntax=plain',
  '--set',
  'agent.cardSerial=off',
  '--set',
  'agent.observePlugTypes={representor}',
  '--set',
  'kubeStateMetrics.customResourceState.enabled=true',
  '--set',
  'kubeStateMetrics.rbac.serviceAccount.name=kube-state-metrics',
  '--set',
  'kubeStateMetrics.rbac.serviceAccount.namespace=monitoring',
];

interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  [key: string]: unknown;
}

function manifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

interface Container {
  args: string[];
  env: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  securityContext: { capabilities: { add: string[]; drop: string[] } };
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  volumeMounts: { name: string; mountPath: string }[];
}

function daemonSetPod(all: Manifest[]): {
  hostNetwork: boolean;
  containers: Container[];
  volumes: { name: string; hostPath?: { path: string } }[];
} {
  const ds = all.find((m) => m.kind === 'DaemonSet') as unknown;
  return (ds as { spec: { template: { spec: ReturnType<typeof daemonSetPod> } } }).spec.template.spec;
}

interface KsmMetric {
  each: {
    type: string;
    info?: { labelsFromPath?: Record<string, string[]> };
    stateSet?: { labelName: string; path: string[]; list: string[] };
  };
}

interface KsmConfig {
  kind: string;
  spec: {
    resources: {
      groupVersionKind: Record<string, string>;
      labelsFromPath: Record<string, string[]>;
      metrics: KsmMetric[];
    }[];
  };
}

interface SchemaNode {
  type?: string;
  enum?: string[];
  properties?: Record<string, SchemaNode>;
}

interface CrdDoc {
  spec: { versions: { name: string; schema: { openAPIV3Schema: SchemaNode } }[] };
}

function schemaAt(schema: SchemaNode | undefined, path: readonly string[]): SchemaNode | undefined {
  return path.reduce<SchemaNode | undefined>((node, key) => node?.properties?.[key], schema);
}

/** Metric names referenced in PromQL text. */
function metricNames(text: string): string[] {
  return [...new Set(text.match(/ovn_plug_[a-z_]+/g) ?? [])].map((name) =>
    name.replace(/_(bucket|sum|count)$/, ''),
  );
}

describe('Helm chart deploy/helm/ovn-plug-agent', () => {
  let kube: KubeApiServer;

  beforeAll(async () => {
    kube = await startKubeApiServer();
  });

  afterAll(async () => {
    await kube?.stop();
  });

  it('passes helm lint --strict with default values and with every option on', async () => {
    expect(await kube.helm('lint', '--strict', CHART)).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(await kube.helm('lint', '--strict', CHART, ...ALL_OPTIONS)).toMatch(/0 chart\(s\) failed/);
  });

  it('maps values onto the agent flags, the downward-API node name, probes and the minimal privileges', async () => {
    const all = manifests(
      await kube.helm('template', RELEASE, CHART, '--namespace', NAMESPACE, ...ALL_OPTIONS),
    );
    expect(all.map((m) => m.kind).sort()).toEqual(
      [
        'ClusterRole',
        'ClusterRole',
        'ClusterRole',
        'ClusterRoleBinding',
        'ClusterRoleBinding',
        'ClusterRoleBinding',
        'ConfigMap',
        'ConfigMap',
        'DaemonSet',
        'Job',
        'PrometheusRule',
        'Role',
        'RoleBinding',
        'Service',
        'ServiceAccount',
        'ServiceAccount',
        'ServiceMonitor',
      ].sort(),
    );
    const pod = daemonSetPod(all);
    const [agent] = pod.containers;
    expect(agent?.args).toEqual([
      'run',
      '--ovs-db=unix:/var/run/openvswitch/db.sock',
      '--ovnsb-db=ssl:192.0.2.1:6642,ssl:192.0.2.2:6642',
      '--chassis=dpu-chassis-1',
      '--providers=dummy,representor',
      '--provider-module=/opt/providers/acme.js',
      '--listen=0.0.0.0:9476',
      '--log-level=debug',
      '--observe-plug-types=representor',
      '--ownership-marker=ovn-plug-agent',
      '--representor-datapath=doca',
      '--dpdk-representor-syntax=plain',
      '--card-serial=off',
      '--node-name=$(NODE_NAME)',
      '--private-key=/etc/ovn-plug-agent/tls/tls.key',
      '--certificate=/etc/ovn-plug-agent/tls/tls.crt',
      '--ca-cert=/etc/ovn-plug-agent/tls/ca.crt',
    ]);
    // Every flag the chart passes is one the agent accepts (the kubelet expands $(NODE_NAME)).
    const parsed = parseCommandLine(
      (agent?.args ?? []).map((arg) => arg.replace('$(NODE_NAME)', 'dpu-1')),
      {},
    );
    expect(parsed.ok ? 'ok' : parsed.errors).toBe('ok');
    const defaults =
      daemonSetPod(manifests(await kube.helm('template', RELEASE, CHART))).containers[0]?.args ?? [];
    const parsedDefaults = parseCommandLine(
      defaults.map((arg) => arg.replace('$(NODE_NAME)', 'dpu-1')),
      {},
    );
    expect(parsedDefaults.ok ? 'ok' : parsedDefaults.errors).toBe('ok');
    expect(agent?.env).toContainEqual({
      name: 'NODE_NAME',
      valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } },
    });
    expect(agent?.securityContext.capabilities).toEqual({ add: ['NET_ADMIN'], drop: ['ALL'] });
    expect(agent?.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(agent?.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(pod.hostNetwork).toBe(true);
    expect(pod.volumes).toContainEqual({
      name: 'ovs-run',
      hostPath: { path: '/var/run/openvswitch', type: 'Directory' },
    });
    expect(agent?.volumeMounts).toContainEqual({ name: 'ovs-run', mountPath: '/var/run/openvswitch' });

    const hook = all.find((m) => m.kind === 'Job');
    expect(hook?.metadata.annotations?.['helm.sh/hook']).toBe('pre-delete');
    expect(JSON.stringify(hook)).toContain('"args":["remove-kube-status","--all-nodes","--log-level=debug"]');
  });

  it('alerts and dashboard only use metrics the agent exports', async () => {
    const all = manifests(await kube.helm('template', RELEASE, CHART, ...ALL_OPTIONS));
    const registry = new Registry();
    new AgentMetrics(registry);
    const exported = new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
    const rule = all.find((m) => m.kind === 'PrometheusRule');
    const dashboard = all.find(
      (m) => m.kind === 'ConfigMap' && m.metadata.name.endsWith('-dashboard'),
    ) as unknown as { data: Record<string, string> };
    const dashboardJson = dashboard.data['ovn-plug-agent.json'] ?? '';
    expect(() => JSON.parse(dashboardJson) as unknown).not.toThrow();
    const used = metricNames(JSON.stringify(rule) + dashboardJson);
    expect(used).toContain('ovn_plug_kube_requests_total');
    expect(used).toContain('ovn_plug_kube_pending_writes');
    expect(used.length).toBeGreaterThanOrEqual(8);
    expect(used.filter((name) => !exported.has(name))).toEqual([]);
    expect(JSON.stringify(rule)).toContain('"alert":"OvnPlugPortsNotBound"');
    expect(JSON.stringify(rule)).toContain('"alert":"OvnPlugDatabaseDisconnected"');
    expect(JSON.stringify(rule)).toContain('"alert":"OvnPlugProviderUnavailable"');
  });

  it('ships an optional kube-state-metrics config whose resource, paths and states match the CRD', async () => {
    const byDefault = manifests(await kube.helm('template', RELEASE, CHART));
    expect(byDefault.filter((m) => m.metadata.name === 'kube-state-metrics-portplugs')).toEqual([]);

    const all = manifests(
      await kube.helm('template', RELEASE, CHART, '--namespace', NAMESPACE, ...ALL_OPTIONS),
    );
    const ksm = all.filter((m) => m.metadata.name === 'kube-state-metrics-portplugs');
    expect(ksm.map((m) => m.kind).sort()).toEqual(['ClusterRole', 'ClusterRoleBinding', 'ConfigMap']);
    const configMap = ksm.find((m) => m.kind === 'ConfigMap') as unknown as { data: Record<string, string> };
    const config = parse(configMap.data['portplugs.yaml'] ?? '') as KsmConfig;
    expect(config.kind).toBe('CustomResourceStateMetrics');
    const [resource] = config.spec.resources;
    expect(resource?.groupVersionKind).toEqual({
      group: PORT_PLUG_GROUP,
      version: PORT_PLUG_VERSION,
      kind: PORT_PLUG_KIND,
    });

    const crd = parse(
      await readFile(resolve(CHART, 'crds/portplugs.ovn-plug-agent.io.yaml'), 'utf8'),
    ) as CrdDoc;
    const version = crd.spec.versions.find((v) => v.name === PORT_PLUG_VERSION);
    const schema = version?.schema.openAPIV3Schema;
    const stateSet = resource?.metrics.find((m) => m.each.type === 'StateSet')?.each.stateSet;
    expect(stateSet?.list).toEqual([...PORT_STATES]);
    expect(stateSet?.list).toEqual(schemaAt(schema, ['status', 'state'])?.enum);
    // Every path KSM reads exists in the CRD schema (metadata.name is always there).
    const paths = [
      ...Object.values(resource?.labelsFromPath ?? {}),
      ...(resource?.metrics ?? []).flatMap((m) => Object.values(m.each.info?.labelsFromPath ?? {})),
      ...(stateSet === undefined ? [] : [stateSet.path]),
    ].filter((path) => path[0] !== 'metadata');
    expect(paths.length).toBeGreaterThanOrEqual(5);
    expect(paths.filter((path) => schemaAt(schema, path)?.type !== 'string').map((p) => p.join('.'))).toEqual(
      [],
    );

    const role = ksm.find((m) => m.kind === 'ClusterRole') as unknown as { rules: unknown[] };
    expect(role.rules).toEqual([
      { apiGroups: [PORT_PLUG_GROUP], resources: [PORT_PLUG_PLURAL], verbs: ['list', 'watch'] },
    ]);
    expect(JSON.stringify(ksm.find((m) => m.kind === 'ClusterRoleBinding'))).toContain(
      '"subjects":[{"kind":"ServiceAccount","name":"kube-state-metrics","namespace":"monitoring"}]',
    );
  });

  it('installs into the API server with the CRD from the chart crds/ directory', async () => {
    const out = await kube.helm('install', RELEASE, CHART, '--namespace', NAMESPACE, '--create-namespace');
    expect(out).toMatch(/STATUS: deployed/);
    await kube.kubectl(
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd/portplugs.ovn-plug-agent.io',
    );
    const ds = await kube.kubectl(
      'get',
      'daemonset',
      RELEASE,
      '-n',
      NAMESPACE,
      '-o',
      'jsonpath={.spec.template.spec.containers[0].image}',
    );
    expect(ds).toBe('ghcr.io/ovn-plug-agent/ovn-plug-agent:0.1.0');
    expect(await kube.kubectl('get', 'serviceaccount', RELEASE, '-n', NAMESPACE, '-o', 'name')).toBe(
      `serviceaccount/${RELEASE}\n`,
    );
    // The short name and category work as documented.
    expect((await kube.run('kubectl', ['get', 'pplug'])).stderr).toMatch(/No resources found/);
    expect((await kube.run('kubectl', ['get', 'ovn-plug'])).stderr).toMatch(/No resources found/);
  });

  /** `yes` or `no`; anything else (a usage error) comes back with stderr so the test shows it. */
  const canI = async (args: string[]): Promise<string> => {
    const result = await kube.run('kubectl', [
      'auth',
      'can-i',
      '--as',
      AGENT,
      '--as-group',
      'system:serviceaccounts',
      ...args,
    ]);
    // kubectl warns when a cluster-scoped resource is checked with its default namespace.
    const stderr = result.stderr
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('Warning: resource '))
      .join('\n');
    return `${result.stdout.trim()}${stderr === '' ? '' : ` (stderr: ${stderr})`}`;
  };

  it.each(
    [
      ['get', 'nodes/dpu-1'],
      ['patch', 'nodes/dpu-1', '--subresource=status'],
      ['get', 'portplugs.ovn-plug-agent.io'],
      ['list', 'portplugs.ovn-plug-agent.io'],
      ['create', 'portplugs.ovn-plug-agent.io'],
      ['delete', 'portplugs.ovn-plug-agent.io'],
      ['patch', 'portplugs.ovn-plug-agent.io/x', '--subresource=status'],
      ['create', 'events', '-n', 'default'],
      ['patch', 'events', '-n', 'default'],
    ].map((args) => ({ command: args.join(' '), args })),
  )('allows the agent: $command', async ({ args }) => {
    expect(await canI(args)).toBe('yes');
  });

  it.each(
    [
      ['list', 'nodes'],
      ['watch', 'nodes'],
      ['patch', 'nodes/dpu-1'],
      ['update', 'nodes/dpu-1', '--subresource=status'],
      ['delete', 'nodes/dpu-1'],
      ['create', 'nodes'],
      ['update', 'portplugs.ovn-plug-agent.io'],
      ['patch', 'portplugs.ovn-plug-agent.io'],
      ['watch', 'portplugs.ovn-plug-agent.io'],
      ['deletecollection', 'portplugs.ovn-plug-agent.io'],
      ['update', 'portplugs.ovn-plug-agent.io/x', '--subresource=status'],
      ['create', 'events', '-n', 'kube-system'],
      ['create', 'events', '-n', NAMESPACE],
      ['delete', 'events', '-n', 'default'],
      ['list', 'events', '-n', 'default'],
      ['get', 'secrets', '-n', NAMESPACE],
      ['get', 'configmaps', '-n', NAMESPACE],
      ['create', 'pods', '-n', NAMESPACE],
      ['get', 'pods', '-n', NAMESPACE],
      ['update', 'daemonsets.apps', '-n', NAMESPACE],
      ['create', 'customresourcedefinitions.apiextensions.k8s.io'],
      ['create', 'clusterrolebindings.rbac.authorization.k8s.io'],
      ['get', 'leases.coordination.k8s.io', '-n', NAMESPACE],
    ].map((args) => ({ command: args.join(' '), args })),
  )('denies the agent: $command', async ({ args }) => {
    expect(await canI(args)).toBe('no');
  });

  it('Events about cluster-scoped objects are only accepted in "default" (why the events Role lives there)', async () => {
    const event = (namespace: string) =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: `probe.${namespace}`, namespace },
        involvedObject: { apiVersion: 'ovn-plug-agent.io/v1alpha1', kind: 'PortPlug', name: 'dpu-1.lp1' },
        reason: 'Probe',
        message: 'probe',
        type: 'Normal',
      });
    const elsewhere = await kube.run('kubectl', ['create', '-f', '-'], { input: event(NAMESPACE) });
    expect(elsewhere.exitCode).not.toBe(0);
    expect(elsewhere.stderr).toMatch(/does not match event.namespace/);
    const inDefault = await kube.run('kubectl', ['create', '-f', '-'], { input: event('default') });
    expect(inDefault.exitCode).toBe(0);
  });

  it('uninstalls (hooks skipped: no kubelet runs the cleanup Job here) and keeps the CRD', async () => {
    expect(await kube.helm('uninstall', RELEASE, '--namespace', NAMESPACE, '--no-hooks')).toMatch(
      /uninstalled/,
    );
    expect(await kube.kubectl('get', 'crd', 'portplugs.ovn-plug-agent.io', '-o', 'name')).toBe(
      'customresourcedefinition.apiextensions.k8s.io/portplugs.ovn-plug-agent.io\n',
    );
    expect(await canI(['patch', 'nodes/dpu-1', '--subresource=status'])).toBe('no');
  });
});
