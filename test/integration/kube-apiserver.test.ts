/**
 * The real API server the Kubernetes tests run against: it starts from the cached binaries,
 * stores objects, and enforces RBAC for the agent's ServiceAccount identity.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startKubeApiServer, type KubeApiServer } from '../harness/kube/index.js';

const AGENT_NAMESPACE = 'ovn-plug-agent';
const AGENT_SERVICE_ACCOUNT = 'ovn-plug-agent';
const AGENT_USER = `system:serviceaccount:${AGENT_NAMESPACE}:${AGENT_SERVICE_ACCOUNT}`;

interface NodeObject {
  metadata: { name: string; uid: string; labels?: Record<string, string> };
}

function isNodeObject(value: unknown): value is NodeObject {
  if (typeof value !== 'object' || value === null || !('metadata' in value)) return false;
  const metadata = value.metadata;
  return typeof metadata === 'object' && metadata !== null && 'name' in metadata && 'uid' in metadata;
}

describe('kube-apiserver test environment', () => {
  let kube: KubeApiServer;
  let startMs: number;

  beforeAll(async () => {
    const started = Date.now();
    kube = await startKubeApiServer();
    startMs = Date.now() - started;
  });

  afterAll(async () => {
    await kube?.stop();
  });

  it('serves the pinned version on loopback within the start budget', async () => {
    expect(kube.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const version = (await kube.request('/version')).json();
    expect(version).toMatchObject({ gitVersion: 'v1.36.3', major: '1', minor: '36' });
    console.log(`kube-apiserver ready ${startMs} ms after start`);
    // CI budget: etcd + kube-apiserver ready well within half a minute even on 2 busy cores.
    expect(startMs).toBeLessThan(30_000);
  });

  it('stores a Node created with kubectl and returns it through the API', async () => {
    const manifest = [
      'apiVersion: v1',
      'kind: Node',
      'metadata:',
      '  name: dpu-node-1',
      '  labels:',
      '    ovn-plug-agent.test/role: dpu',
    ].join('\n');
    const applied = await kube.run('kubectl', ['apply', '-f', '-'], { input: manifest });
    expect(applied.stderr).toBe('');
    expect(applied.stdout.trim()).toBe('node/dpu-node-1 created');

    const response = await kube.request('/api/v1/nodes/dpu-node-1');
    expect(response.status).toBe(200);
    const node = response.json();
    if (!isNodeObject(node)) throw new Error(`not a Node: ${response.body}`);
    expect(node.metadata.name).toBe('dpu-node-1');
    expect(node.metadata.labels).toEqual({ 'ovn-plug-agent.test/role': 'dpu' });

    // kubectl with the admin kubeconfig sees the same object (same uid), not a copy.
    const uid = await kube.kubectl('get', 'node', 'dpu-node-1', '-o', 'jsonpath={.metadata.uid}');
    expect(uid).toBe(node.metadata.uid);
  });

  it('denies the agent ServiceAccount everything by default (RBAC is enforced)', async () => {
    const asAgent = ['auth', 'can-i', '--as', AGENT_USER, '--as-group', 'system:serviceaccounts'];
    const denied = await kube.run('kubectl', [...asAgent, 'patch', 'nodes', '--subresource=status']);
    expect(denied).toMatchObject({ exitCode: 1, stdout: 'no\n' });
    const admin = await kube.run('kubectl', ['auth', 'can-i', 'patch', 'nodes', '--subresource=status']);
    expect(admin).toMatchObject({ exitCode: 0, stdout: 'yes\n' });

    // With its own TokenRequest token the agent authenticates (403, not 401) and is refused.
    const kubeconfig = await kube.agentKubeconfig(AGENT_NAMESPACE, AGENT_SERVICE_ACCOUNT);
    const whoami = await kube.run(
      'kubectl',
      ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'],
      {
        kubeconfig,
      },
    );
    expect(whoami).toMatchObject({ exitCode: 0, stdout: AGENT_USER });
    const list = await kube.run('kubectl', ['get', 'nodes'], { kubeconfig });
    expect(list.exitCode).toBe(1);
    expect(list.stderr).toContain(`User "${AGENT_USER}" cannot list resource "nodes"`);
    const token = await kube.serviceAccountToken(AGENT_NAMESPACE, AGENT_SERVICE_ACCOUNT);
    expect((await kube.request('/api/v1/nodes', { token })).status).toBe(403);
    expect((await kube.request('/api/v1/nodes', { token: 'not-a-token' })).status).toBe(401);
  });

  it('grants the agent exactly what a RoleBinding gives it', async () => {
    await kube.kubectl(
      'create',
      'clusterrole',
      'node-status-patcher',
      '--verb=get,patch',
      '--resource=nodes/status',
    );
    await kube.kubectl(
      'create',
      'clusterrolebinding',
      'agent-node-status',
      '--clusterrole=node-status-patcher',
      `--serviceaccount=${AGENT_NAMESPACE}:${AGENT_SERVICE_ACCOUNT}`,
    );
    const kubeconfig = await kube.agentKubeconfig(AGENT_NAMESPACE, AGENT_SERVICE_ACCOUNT);
    // RBAC changes reach the authorizer through an informer: poll instead of assuming.
    await expect
      .poll(
        async () =>
          (
            await kube.run('kubectl', ['auth', 'can-i', 'patch', 'nodes', '--subresource=status'], {
              kubeconfig,
            })
          ).stdout,
        {
          timeout: 10_000,
        },
      )
      .toBe('yes\n');
    for (const [verb, ...rest] of [
      ['patch', 'nodes'],
      ['delete', 'nodes'],
      ['get', 'nodes', '--subresource=proxy'],
    ]) {
      const other = await kube.run('kubectl', ['auth', 'can-i', verb ?? '', ...rest], { kubeconfig });
      expect(other, `${verb} ${rest.join(' ')}`).toMatchObject({ exitCode: 1, stdout: 'no\n' });
    }
  });

  it('writes kubeconfigs that point at the server with its CA', async () => {
    const config: unknown = parse(await readFile(kube.adminKubeconfig, 'utf8'));
    expect(config).toMatchObject({
      'current-context': 'admin@sandbox',
      clusters: [{ cluster: { server: kube.url, 'certificate-authority': kube.caFile } }],
    });
  });

  it('installs and uninstalls a chart with the pinned helm', async () => {
    expect(await kube.helm('version', '--template', '{{.Version}}')).toBe('v3.22.0');
    const chart = join(kube.dir, 'probe-chart');
    await mkdir(join(chart, 'templates'), { recursive: true });
    await writeFile(
      join(chart, 'Chart.yaml'),
      'apiVersion: v2\nname: probe\nversion: 0.1.0\nkubeVersion: ">=1.30.0-0"\n',
    );
    await writeFile(
      join(chart, 'templates', 'configmap.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-probe\ndata:\n  answer: "{{ .Values.answer }}"\n',
    );
    await writeFile(join(chart, 'values.yaml'), 'answer: 41\n');

    await kube.helm('install', 'probe', chart, '--namespace', 'default', '--set', 'answer=42');
    // kubeVersion ">=1.30.0-0" was checked against the server's stamped version.
    const data = await kube.kubectl('get', 'configmap', 'probe-probe', '-o', 'jsonpath={.data.answer}');
    expect(data).toBe('42');
    const releases: unknown = JSON.parse(
      await kube.helm('list', '--namespace', 'default', '--output', 'json'),
    );
    expect(releases).toMatchObject([{ name: 'probe', status: 'deployed' }]);

    await kube.helm('uninstall', 'probe', '--namespace', 'default', '--wait');
    expect((await kube.request('/api/v1/namespaces/default/configmaps/probe-probe')).status).toBe(404);
  });
});
