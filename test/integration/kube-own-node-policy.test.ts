/**
 * The chart's own-node ValidatingAdmissionPolicy (DESIGN §6, ADR 0075) against a REAL
 * kube-apiserver, installed by the real helm (which renders it because the server serves
 * admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy). No kubelet runs here, so the agent's
 * tokens are made as the kubelet makes them: two Nodes, a Pod on each with `spec.nodeName`, and a
 * TokenRequest bound to each Pod (which carries the Pod's node as the
 * `authentication.kubernetes.io/node-name` claim). The agent on dpu-a may write dpu-a's status and
 * PortPlugs and nothing of dpu-b; a token bound to no pod may write nothing; the uninstall hook's
 * identity still cleans every node.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeClient } from '../../src/agent/kube/index.js';
import {
  createKubeClient,
  KubeApiError,
  loadKubeconfig,
  NODE_LABEL,
  removeKubeStatus,
  startKubeStatusSinks,
  type KubeRequestOutcome,
  type PortPlugObject,
} from '../../src/agent/kube/index.js';
import { port, snapshot } from '../../src/agent/kube/testing/status-builders.js';
import { startKubeApiServer, type KubeApiServer } from '../harness/kube/index.js';
import { waitUntil } from '../harness/index.js';
import { prepareCleanupHookIdentity } from './support/kube-setup.js';

const CHART = resolve('deploy/helm/ovn-plug-agent');
const NAMESPACE = 'ovn-plug';
const RELEASE = 'ovn-plug-agent';
const AGENT_USER = `system:serviceaccount:${NAMESPACE}:${RELEASE}`;
const PORTPLUGS = '/apis/ovn-plug-agent.io/v1alpha1/portplugs';
const NODE_CLAIM = 'authentication.kubernetes.io/node-name';

/** `allowed`, or `denied <code>: <message>` for an API error (anything else is rethrown). */
async function outcome(write: Promise<unknown>): Promise<string> {
  try {
    await write;
    return 'allowed';
  } catch (error) {
    if (error instanceof KubeApiError) return `denied ${error.code}: ${error.message}`;
    throw error;
  }
}

const conditionPatch = (reason: string) => ({
  status: {
    conditions: [
      {
        type: 'OvnPlugReady',
        status: 'True',
        reason,
        message: 'own-node policy test',
        lastHeartbeatTime: '2026-12-01T00:00:00Z',
        lastTransitionTime: '2026-12-01T00:00:00Z',
      },
    ],
  },
});

const portPlug = (name: string, nodeName: string, label = nodeName) => ({
  apiVersion: 'ovn-plug-agent.io/v1alpha1',
  kind: 'PortPlug',
  metadata: { name, labels: { [NODE_LABEL]: label } },
  spec: { nodeName, logicalPort: name.split('.').slice(1).join('.') },
});

describe('own-node admission policy against a real API server', () => {
  let kube: KubeApiServer;
  let caPem: string;
  /** Agent clients: tokens bound to the pod on dpu-a, on dpu-b, and to no pod. */
  let onA: KubeClient;
  let onB: KubeClient;
  let unbound: KubeClient;
  let tokenOnA: string;

  const clientFor = (token: string): KubeClient =>
    createKubeClient({ server: kube.url, caPem, token, insecureSkipTlsVerify: false });

  const agentPod = (name: string, nodeName: string): string =>
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: NAMESPACE },
      spec: {
        nodeName,
        serviceAccountName: RELEASE,
        containers: [{ name: 'agent', image: 'ghcr.io/ovn-plug-agent/ovn-plug-agent:0.1.0' }],
      },
    });

  beforeAll(async () => {
    // The status controller type-checks every policy expression against Node and the CRD schema.
    kube = await startKubeApiServer({ extraControllers: ['validatingadmissionpolicy-status-controller'] });
    caPem = await readFile(kube.caFile, 'utf8');
    const installed = await kube.helm(
      'install',
      RELEASE,
      CHART,
      '--namespace',
      NAMESPACE,
      '--create-namespace',
    );
    expect(installed).toMatch(/STATUS: deployed/);
    await kube.kubectl(
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd/portplugs.ovn-plug-agent.io',
    );
    for (const node of ['dpu-a', 'dpu-b']) {
      await kube.run('kubectl', ['apply', '-f', '-'], {
        input: `apiVersion: v1\nkind: Node\nmetadata:\n  name: ${node}\n`,
      });
    }
    await kube.run('kubectl', ['apply', '-f', '-'], { input: agentPod('agent-a', 'dpu-a') });
    await kube.run('kubectl', ['apply', '-f', '-'], { input: agentPod('agent-b', 'dpu-b') });
    const bound = (pod: string) =>
      kube.serviceAccountToken(NAMESPACE, RELEASE, { boundObject: { kind: 'Pod', name: pod } });
    tokenOnA = await bound('agent-a');
    onA = clientFor(tokenOnA);
    onB = clientFor(await bound('agent-b'));
    unbound = clientFor(await kube.serviceAccountToken(NAMESPACE, RELEASE));
    // A fresh CRD answers 429 for a moment, and the policy reaches admission through an informer:
    // wait until a write the policy denies is denied.
    await waitUntil(
      async () =>
        (
          await outcome(onA.patch('/api/v1/nodes/dpu-b/status', conditionPatch('Probe'), 'strategic'))
        ).startsWith('denied 403') && (await kube.run('kubectl', ['get', 'portplugs'])).exitCode === 0,
      { timeoutMs: 60_000, description: 'the own-node policy to be in force' },
    );
  });

  afterAll(async () => {
    await kube?.stop();
  });

  it('is rendered when the API server serves ValidatingAdmissionPolicy, and binds only the agent ServiceAccount', async () => {
    const rendered = (args: string[]) =>
      kube.helm('template', RELEASE, CHART, '--namespace', NAMESPACE, ...args).then((text) =>
        parseAllDocuments(text)
          .map((doc) => doc.toJS() as { kind: string } | null)
          .filter((m): m is { kind: string } => m !== null)
          .filter((m) => m.kind.startsWith('ValidatingAdmissionPolicy')),
      );
    const served = ['--api-versions', 'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy'];
    expect((await rendered(served)).map((m) => m.kind).sort()).toEqual([
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
      'ValidatingAdmissionPolicyBinding',
    ]);
    expect(await rendered([])).toEqual([]);
    expect(await rendered([...served, '--set', 'rbac.ownNodePolicy=false'])).toEqual([]);
    expect((await rendered(['--set', 'rbac.ownNodePolicy=true'])).length).toBe(4);
    const bad = await kube.run('helm', ['template', RELEASE, CHART, '--set', 'rbac.ownNodePolicy=maybe']);
    expect(bad.stderr).toContain('rbac.ownNodePolicy must be auto, true or false, got "maybe"');

    const names = (
      await kube.kubectl('get', 'validatingadmissionpolicy,validatingadmissionpolicybinding', '-o', 'name')
    )
      .split('\n')
      .filter(Boolean)
      .sort();
    expect(names).toEqual([
      `validatingadmissionpolicy.admissionregistration.k8s.io/${RELEASE}-own-node-nodes`,
      `validatingadmissionpolicy.admissionregistration.k8s.io/${RELEASE}-own-node-portplugs`,
      `validatingadmissionpolicybinding.admissionregistration.k8s.io/${RELEASE}-own-node-nodes`,
      `validatingadmissionpolicybinding.admissionregistration.k8s.io/${RELEASE}-own-node-portplugs`,
    ]);
    for (const kind of ['nodes', 'portplugs']) {
      const policy = await waitUntil(
        async () => {
          const found = JSON.parse(
            await kube.kubectl(
              'get',
              'validatingadmissionpolicy',
              `${RELEASE}-own-node-${kind}`,
              '-o',
              'json',
            ),
          ) as {
            spec: { matchConditions: { expression: string }[] };
            status?: { typeChecking?: { expressionWarnings?: unknown[] } };
          };
          return found.status?.typeChecking === undefined ? undefined : found;
        },
        { timeoutMs: 30_000, description: `the type check of ${RELEASE}-own-node-${kind}` },
      );
      expect(policy.spec.matchConditions.map((c) => c.expression)).toEqual([
        `request.userInfo.username == "${AGENT_USER}"`,
      ]);
      // Every expression type-checks against Node and the PortPlug CRD schema.
      expect(policy.status?.typeChecking?.expressionWarnings ?? []).toEqual([]);
    }
  });

  it('the pod-bound tokens carry their node; the unbound one does not', async () => {
    const extra = async (client: KubeClient) =>
      (
        await client.create<{ status: { userInfo: { username: string; extra?: Record<string, string[]> } } }>(
          '/apis/authentication.k8s.io/v1/selfsubjectreviews',
          { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
        )
      ).status.userInfo;
    const a = await extra(onA);
    expect(a.username).toBe(AGENT_USER);
    expect(a.extra?.[NODE_CLAIM]).toEqual(['dpu-a']);
    expect((await extra(onB)).extra?.[NODE_CLAIM]).toEqual(['dpu-b']);
    expect((await extra(unbound)).extra?.[NODE_CLAIM]).toBeUndefined();
  });

  it('Node status: own node allowed, the other node and a token without the claim denied', async () => {
    expect(
      await outcome(onA.patch('/api/v1/nodes/dpu-a/status', conditionPatch('OwnNode'), 'strategic')),
    ).toBe('allowed');
    expect(
      await outcome(onB.patch('/api/v1/nodes/dpu-b/status', conditionPatch('OwnNode'), 'strategic')),
    ).toBe('allowed');
    expect(
      await outcome(onA.patch('/api/v1/nodes/dpu-b/status', conditionPatch('Other'), 'strategic')),
    ).toMatch(new RegExp(`^denied 403: .*${AGENT_USER} on node dpu-a may not write Node dpu-b`));
    expect(
      await outcome(unbound.patch('/api/v1/nodes/dpu-a/status', conditionPatch('NoClaim'), 'strategic')),
    ).toMatch(
      /^denied 403: .*may write only with a token bound to a pod on a node \(no authentication\.kubernetes\.io\/node-name claim/,
    );
    // JSON merge patches go through the same subresource.
    expect(await outcome(onA.patch('/api/v1/nodes/dpu-b/status', conditionPatch('Merge'), 'merge'))).toMatch(
      /^denied 403/,
    );
    expect(
      await kube.kubectl(
        'get',
        'node',
        'dpu-b',
        '-o',
        'jsonpath={.status.conditions[?(@.type=="OvnPlugReady")].reason}',
      ),
    ).toBe('OwnNode');
  });

  it('PortPlugs: create, status patch and delete only of the own node', async () => {
    expect(await outcome(onA.create(PORTPLUGS, portPlug('dpu-a.lp1', 'dpu-a')))).toBe('allowed');
    expect(await outcome(onB.create(PORTPLUGS, portPlug('dpu-b.lp1', 'dpu-b')))).toBe('allowed');
    const otherNode = await outcome(onA.create(PORTPLUGS, portPlug('dpu-b.lp2', 'dpu-b')));
    expect(otherNode).toMatch(
      new RegExp(
        `^denied 403: .*${AGENT_USER} on node dpu-a may write only PortPlugs of that node .*not dpu-b\\.lp2`,
      ),
    );
    // The node label is what the agents and the uninstall hook select by: it must agree.
    expect(await outcome(onA.create(PORTPLUGS, portPlug('dpu-a.lp3', 'dpu-a', 'dpu-b')))).toMatch(
      /^denied 403/,
    );
    expect(await outcome(unbound.create(PORTPLUGS, portPlug('dpu-a.lp4', 'dpu-a')))).toMatch(
      /^denied 403: .*no authentication\.kubernetes\.io\/node-name claim/,
    );

    const statusPatch = { status: { state: 'Plugged', reason: 'Plugged', message: 'ok', provider: 'dummy' } };
    expect(await outcome(onA.patch(`${PORTPLUGS}/dpu-a.lp1/status`, statusPatch, 'merge'))).toBe('allowed');
    expect(await outcome(onA.patch(`${PORTPLUGS}/dpu-b.lp1/status`, statusPatch, 'merge'))).toMatch(
      /^denied 403/,
    );
    expect(await outcome(onA.delete(`${PORTPLUGS}/dpu-b.lp1`))).toMatch(
      /^denied 403: .*may write only PortPlugs of that node .*not dpu-b\.lp1/,
    );
    expect(await outcome(unbound.delete(`${PORTPLUGS}/dpu-a.lp1`))).toMatch(/^denied 403/);

    expect((await kube.kubectl('get', 'portplugs', '-o', 'name')).split('\n').filter(Boolean).sort()).toEqual(
      ['portplug.ovn-plug-agent.io/dpu-a.lp1', 'portplug.ovn-plug-agent.io/dpu-b.lp1'],
    );
    expect(await outcome(onA.delete(`${PORTPLUGS}/dpu-a.lp1`))).toBe('allowed');
  });

  it("the agent's own clean-up works on its node only", async () => {
    expect(await outcome(onB.create(PORTPLUGS, portPlug('dpu-b.lp5', 'dpu-b')))).toBe('allowed');
    const own = await removeKubeStatus({ client: onB, nodes: ['dpu-b'] });
    expect(own).toEqual({ nodesCleaned: ['dpu-b'], portPlugsDeleted: 2 });
    expect(await outcome(removeKubeStatus({ client: onB, nodes: ['dpu-a'] }))).toMatch(/^denied 403/);
  });

  it("the agent's status sinks (conditions, PortPlugs, Events) work under the policy with a pod-bound token", async () => {
    const outcomes: KubeRequestOutcome[] = [];
    const sinks = startKubeStatusSinks({
      nodeName: 'dpu-a',
      connection: { server: kube.url, caPem, token: tokenOnA, insecureSkipTlsVerify: false },
      conditions: { flushDelayMs: 50, minWriteIntervalMs: 100, startupGraceMs: 5_000 },
      portPlugs: { writesPerSecond: 50, burst: 20 },
      observer: { request: (_kind, outcome) => outcomes.push(outcome), pendingWrites: () => undefined },
    });
    try {
      await sinks.ready;
      sinks.update(snapshot({ nodeName: 'dpu-a', ports: [port('lp7'), port('lp8', { state: 'Failed' })] }));
      await waitUntil(
        async () => {
          const objects = await onA.list<PortPlugObject>(PORTPLUGS, { labelSelector: `${NODE_LABEL}=dpu-a` });
          const states = objects.map((o) => `${o.metadata?.name ?? ''}=${o.status?.state ?? ''}`).sort();
          return JSON.stringify(states) === JSON.stringify(['dpu-a.lp7=Bound', 'dpu-a.lp8=Failed']);
        },
        { timeoutMs: 20_000, description: 'the sinks to write both PortPlugs of dpu-a' },
      );
      await waitUntil(
        async () =>
          (
            await kube.kubectl(
              'get',
              'node',
              'dpu-a',
              '-o',
              'jsonpath={.status.conditions[?(@.type=="OvnPlugDegraded")].reason}',
            )
          ).length > 0,
        { timeoutMs: 20_000, description: 'the OvnPlugDegraded condition on dpu-a' },
      );
    } finally {
      await sinks.stop();
    }
    expect(outcomes.length).toBeGreaterThan(3);
    expect(outcomes.filter((o) => o === 'error')).toEqual([]);
  });

  it("the uninstall hook's identity is not bound by the policy: it cleans every node", async () => {
    expect(await outcome(onA.create(PORTPLUGS, portPlug('dpu-a.lp6', 'dpu-a')))).toBe('allowed');
    expect(await outcome(onB.patch('/api/v1/nodes/dpu-b/status', conditionPatch('Again'), 'strategic'))).toBe(
      'allowed',
    );
    const hookKubeconfig = await prepareCleanupHookIdentity(kube, { namespace: NAMESPACE, release: RELEASE });
    const hook = createKubeClient(loadKubeconfig(hookKubeconfig));
    const existing = (await kube.kubectl('get', 'portplugs', '-o', 'name')).split('\n').filter(Boolean);
    expect(existing).toContain('portplug.ovn-plug-agent.io/dpu-a.lp6');
    const result = await removeKubeStatus({ client: hook, nodes: 'all' });
    expect(result.nodesCleaned.sort()).toEqual(['dpu-a', 'dpu-b']);
    expect(result.portPlugsDeleted).toBe(existing.length);
    expect(await kube.kubectl('get', 'portplugs', '-o', 'name')).toBe('');
  });
});
