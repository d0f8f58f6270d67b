/**
 * Coexistence with ovn-controller's own plugging (DESIGN §3.5, §3.5a) as Kubernetes shows it: a
 * sandbox whose two ovn-controllers plug by themselves (`--enable-dummy-vif-plug`; `dummy` stands
 * in for `representor`), a real kube-apiserver with the chart's RBAC, and one agent per node —
 * observe mode on hv1, plug mode (default) on hv2. PortPlug objects carry the state and the reason
 * naming ovn-controller; neither node's `OvnPlugDegraded` becomes True because of those ports.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommandLine, startAgent, type AgentHandle } from '../../src/agent/index.js';
import { startSandbox, waitPortBindingUp, waitUntil, type Sandbox } from '../harness/index.js';
import { startKubeApiServer, type KubeApiServer } from '../harness/kube/index.js';
import { prepareAgentCluster } from './support/kube-setup.js';

const NAMESPACE = 'ovn-plug';
const RELEASE = 'ovn-plug-agent';

interface PortPlugItem {
  spec: { logicalPort: string; nodeName: string };
  status?: { state?: string; reason?: string; interfaceName?: string };
}
interface NodeCondition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

let sandbox: Sandbox;
let kube: KubeApiServer;
const agents: AgentHandle[] = [];

beforeAll(async () => {
  [sandbox, kube] = await Promise.all([
    startSandbox({ chassis: ['hv1', 'hv2'], enableDummyVifPlug: true }),
    startKubeApiServer(),
  ]);
  for (const [node, extra] of [
    ['hv1', ['--observe-plug-types=dummy']],
    ['hv2', []],
  ] as const) {
    const { agentKubeconfig } = await prepareAgentCluster(kube, {
      namespace: NAMESPACE,
      release: RELEASE,
      node,
    });
    const parsed = parseCommandLine(
      [
        `--ovs-db=${sandbox.node(node).ovs.dbRemote}`,
        '--providers=dummy',
        '--listen=127.0.0.1:0',
        '--log-level=silent',
        `--kubeconfig=${agentKubeconfig}`,
        `--node-name=${node}`,
        ...extra,
      ],
      {},
    );
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    agents.push(await startAgent(parsed.config));
  }
}, 120_000);

afterAll(async () => {
  for (const agent of agents) await agent.stop();
  await sandbox?.stop();
  await kube?.stop();
});

async function portPlugs(): Promise<Map<string, PortPlugItem['status']>> {
  const out = await kube.kubectl('get', 'portplugs', '-o', 'json');
  return new Map(
    (JSON.parse(out) as { items: PortPlugItem[] }).items.map((i) => [i.spec.logicalPort, i.status]),
  );
}

async function conditions(node: string): Promise<Record<string, NodeCondition>> {
  const out = await kube.kubectl('get', 'node', node, '-o', 'jsonpath={.status.conditions}');
  const list = out === '' ? [] : (JSON.parse(out) as NodeCondition[]);
  return Object.fromEntries(list.map((c) => [c.type, c]));
}

describe('PortPlugs and node conditions for ports ovn-controller plugged', () => {
  it('observe mode (hv1): Bound naming ovn-controller, node Ready; plug mode (hv2): Conflict naming it, not degraded', async () => {
    const args = ['--may-exist', 'ls-add', 'ls0'];
    const ports = { hv1: ['ko1', 'ko2', 'ko3'], hv2: ['kp1', 'kp2', 'kp3'] };
    for (const [chassis, names] of Object.entries(ports))
      for (const name of names)
        args.push(
          '--',
          'lsp-add',
          'ls0',
          name,
          '--',
          'lsp-set-options',
          name,
          `requested-chassis=${chassis}`,
          'vif-plug-type=dummy',
        );
    await sandbox.central.nbctlWaitSb(...args);
    for (const name of [...ports.hv1, ...ports.hv2]) await waitPortBindingUp(sandbox.central, name);

    const objects = await waitUntil(
      async () => {
        const found = await portPlugs();
        const settled =
          ports.hv1.every((n) => found.get(n)?.state === 'Bound') &&
          ports.hv2.every((n) => found.get(n)?.state === 'Conflict' || found.get(n)?.state === 'Bound');
        return settled ? found : undefined;
      },
      { description: 'PortPlugs settled', timeoutMs: 30_000, maxIntervalMs: 250 },
    );
    for (const name of ports.hv1)
      expect(objects.get(name)).toMatchObject({
        state: 'Bound',
        reason: 'PluggedByOvnController',
        interfaceName: name,
      });
    for (const name of ports.hv2) {
      const status = objects.get(name);
      // Whoever committed first keeps the port: the built-in (Conflict naming it) or the agent (Bound).
      if (status?.state === 'Conflict') expect(status.reason).toBe('PluggedByOvnController');
    }

    const hv1 = await waitUntil(
      async () => {
        const c = await conditions('hv1');
        return c['OvnPlugReady']?.reason === 'AllPortsBound' ? c : undefined;
      },
      { description: 'hv1 OvnPlugReady AllPortsBound', timeoutMs: 30_000, maxIntervalMs: 250 },
    );
    expect(hv1['OvnPlugReady']).toMatchObject({ status: 'True' });
    expect(hv1['OvnPlugDegraded']).toMatchObject({ status: 'False', reason: 'NoPortProblems' });
    const hv2 = await waitUntil(
      async () => {
        const c = await conditions('hv2');
        return c['OvnPlugDegraded'] !== undefined && c['OvnPlugReady']?.reason !== 'SouthboundNotSynced'
          ? c
          : undefined;
      },
      { description: 'hv2 conditions written', timeoutMs: 30_000, maxIntervalMs: 250 },
    );
    expect(hv2['OvnPlugDegraded']).toMatchObject({ status: 'False', reason: 'NoPortProblems' });
    const described = await kube.kubectl('describe', 'node', 'hv2');
    const table = await kube.kubectl('get', 'portplugs', '-o', 'wide');
    console.log(
      `${described.slice(described.indexOf('Conditions:'), described.indexOf('Addresses:'))}\n${table}`,
    );
  });
});
