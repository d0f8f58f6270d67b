/**
 * The Kubernetes status sinks against a REAL kube-apiserver (+ kube-controller-manager for
 * garbage collection), authenticated as the agent's ServiceAccount with exactly the chart's RBAC:
 * synthetic status snapshots plug, fail and unplug ports; the results are read back with
 * `kubectl describe node` and `kubectl get portplugs -o wide`, as an operator would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  KubeClient,
  createHttpsTransport,
  loadKubeconfig,
  removeKubeStatus,
  startKubeStatusSinks,
  type KubeStatusSinks,
  type NodeCondition,
  type NodeObject,
  type PortPlugObject,
} from '../../src/agent/kube/index.js';
import { port, snapshot, startingSnapshot } from '../../src/agent/kube/testing/status-builders.js';
import { startKubeApiServer, type KubeApiServer } from '../harness/kube/index.js';
import { waitUntil } from '../harness/index.js';
import { defaultNamespaceEvents, prepareAgentCluster } from './support/kube-setup.js';

const NAMESPACE = 'ovn-plug';
const RELEASE = 'ovn-plug-agent';
const NODE = 'dpu-1';
const KUBELET_READY: NodeCondition = {
  type: 'Ready',
  status: 'True',
  reason: 'KubeletReady',
  message: 'kubelet is posting ready status',
  lastHeartbeatTime: '2026-11-25T00:00:00Z',
  lastTransitionTime: '2026-11-25T00:00:00Z',
};

describe('Kubernetes status sinks against a real API server', () => {
  let kube: KubeApiServer;
  let agentKubeconfig: string;
  let admin: KubeClient;
  let sinks: KubeStatusSinks | undefined;

  const startSinks = (): KubeStatusSinks =>
    startKubeStatusSinks({
      nodeName: NODE,
      connection: loadKubeconfig(agentKubeconfig),
      conditions: { flushDelayMs: 50, minWriteIntervalMs: 100, startupGraceMs: 5_000 },
      portPlugs: { writesPerSecond: 50, burst: 20 },
    });

  const node = async (): Promise<NodeObject> => admin.get<NodeObject>(`/api/v1/nodes/${NODE}`);
  const condition = async (type: string): Promise<NodeCondition | undefined> =>
    (await node()).status?.conditions?.find((c) => c.type === type);
  const portPlugs = async (): Promise<PortPlugObject[]> =>
    admin.list<PortPlugObject>('/apis/ovn-plug-agent.io/v1alpha1/portplugs');
  const waitForCondition = (type: string, reason: string): Promise<NodeCondition> =>
    waitUntil(
      async () => {
        const found = await condition(type);
        return found?.reason === reason ? found : undefined;
      },
      { description: `${type} with reason ${reason}`, timeoutMs: 15_000 },
    );
  const waitForStates = (expected: Record<string, string>): Promise<PortPlugObject[]> =>
    waitUntil(
      async () => {
        const objects = await portPlugs();
        const states = Object.fromEntries(
          objects.map((o) => [o.spec?.logicalPort ?? '', o.status?.state ?? '']),
        );
        return JSON.stringify(states) === JSON.stringify(expected) ? objects : undefined;
      },
      { description: `PortPlug states ${JSON.stringify(expected)}`, timeoutMs: 15_000 },
    );

  beforeAll(async () => {
    kube = await startKubeApiServer({ controllerManager: true });
    admin = new KubeClient({ transport: createHttpsTransport(loadKubeconfig(kube.adminKubeconfig)) });
    // The agent identity gets exactly the chart's RBAC, nothing more.
    const prepared = await prepareAgentCluster(kube, { namespace: NAMESPACE, release: RELEASE, node: NODE });
    expect(prepared.rbacApplyStderr).toBe('');
    agentKubeconfig = prepared.agentKubeconfig;
    await admin.patch(
      `/api/v1/nodes/${NODE}/status`,
      { status: { conditions: [KUBELET_READY] } },
      'strategic',
    );
  });

  afterAll(async () => {
    await sinks?.stop();
    await kube?.stop();
  });

  it('plugs: conditions on the node and one PortPlug per port, readable with kubectl', async () => {
    sinks = startSinks();
    await sinks.ready;
    sinks.update(
      snapshot({
        nodeName: NODE,
        ports: [port('lp1', { state: 'Plugging' }), port('lp2', { state: 'Pending' })],
      }),
    );
    await waitForCondition('OvnPlugDegraded', 'PortsPending');
    await waitForStates({ lp1: 'Plugging', lp2: 'Pending' });

    sinks.update(
      snapshot({ nodeName: NODE, ports: [port('lp1', { ofport: 5 }), port('lp2', { ofport: 6 })] }),
    );
    const ready = await waitForCondition('OvnPlugReady', 'AllPortsBound');
    expect(ready.status).toBe('True');
    await waitForCondition('OvnPlugDegraded', 'NoPortProblems');
    const objects = await waitForStates({ lp1: 'Bound', lp2: 'Bound' });

    const nodeUid = (await node()).metadata?.uid;
    expect(objects.map((o) => o.metadata.ownerReferences)).toEqual([
      [{ apiVersion: 'v1', kind: 'Node', name: NODE, uid: nodeUid }],
      [{ apiVersion: 'v1', kind: 'Node', name: NODE, uid: nodeUid }],
    ]);

    const described = await kube.kubectl('describe', 'node', NODE);
    expect(described).toMatch(/^\s+Ready\s+True\s.*KubeletReady\s+kubelet is posting ready status$/m);
    expect(described).toMatch(
      /^\s+OvnPlugReady\s+True\s.*AllPortsBound\s+connected to both databases; all 2 requested ports are Bound$/m,
    );
    expect(described).toMatch(/^\s+OvnPlugDegraded\s+False\s.*NoPortProblems\s+no port is Pending/m);

    const table = await kube.kubectl('get', 'portplugs', '-o', 'wide');
    const lines = table.trim().split('\n');
    expect(lines[0]).toMatch(
      /^NAME\s+NODE\s+LOGICAL PORT\s+STATE\s+REASON\s+INTERFACE\s+PROVIDER\s+AGE\s+OFPORT\s+SINCE\s+MESSAGE$/,
    );
    expect(lines[1]).toMatch(
      /^dpu-1\.lp1\s+dpu-1\s+lp1\s+Bound\s+Installed\s+lp1\s+dummy\s+\S+\s+5\s+\S+\s+lp1 is Bound$/,
    );
    expect(lines[2]).toMatch(
      /^dpu-1\.lp2\s+dpu-1\s+lp2\s+Bound\s+Installed\s+lp2\s+dummy\s+\S+\s+6\s+\S+\s+lp2 is Bound$/,
    );
    const byField = await kube.kubectl(
      'get',
      'portplugs',
      '--field-selector',
      `spec.nodeName=${NODE}`,
      '-o',
      'name',
    );
    expect(byField.trim().split('\n')).toEqual([
      'portplug.ovn-plug-agent.io/dpu-1.lp1',
      'portplug.ovn-plug-agent.io/dpu-1.lp2',
    ]);
  });

  it('fails: Degraded with the port named, a Warning Event on the object, not repeated for the same failure', async () => {
    const failed = port('lp2', {
      state: 'Failed',
      reason: 'InterfaceError',
      message: 'could not open network device lp2 (No such device)',
    });
    const before = await condition('OvnPlugReady');
    sinks?.update(snapshot({ nodeName: NODE, ports: [port('lp1', { ofport: 5 }), failed] }));
    const degraded = await waitForCondition('OvnPlugDegraded', 'PortsFailed');
    expect(degraded).toMatchObject({ status: 'True', message: '1 Failed (lp2)' });
    const ready = await waitForCondition('OvnPlugReady', 'PortsNotBound');
    expect(ready.status).toBe('False');
    expect(ready.lastTransitionTime).not.toBe(undefined);
    expect(before?.status).toBe('True');

    await waitForStates({ lp1: 'Bound', lp2: 'Failed' });
    const events = await waitUntil(
      async () => {
        const items = await defaultNamespaceEvents(kube, 'involvedObject.kind=PortPlug');
        return items.length > 0 ? items : undefined;
      },
      { description: 'a PortPlug event', timeoutMs: 10_000 },
    );
    expect(events).toEqual([
      expect.objectContaining({
        type: 'Warning',
        reason: 'InterfaceError',
        message: 'Failed: could not open network device lp2 (No such device)',
        count: 1,
      }),
    ]);
    const describedPort = await kube.kubectl('describe', 'portplug', 'dpu-1.lp2');
    expect(describedPort).toMatch(
      /Warning\s+InterfaceError\s+.*ovn-plug-agent.*Failed: could not open network device lp2/,
    );

    // The same failure again after a retry: folded into the same Event (count 2), no new one.
    sinks?.update(
      snapshot({ nodeName: NODE, ports: [port('lp1', { ofport: 5 }), port('lp2', { state: 'Plugging' })] }),
    );
    await waitForStates({ lp1: 'Bound', lp2: 'Plugging' });
    sinks?.update(snapshot({ nodeName: NODE, ports: [port('lp1', { ofport: 5 }), failed] }));
    const folded = await waitUntil(
      async () => {
        const items = await defaultNamespaceEvents(kube, 'involvedObject.kind=PortPlug');
        return items.length === 1 && items[0]?.count === 2 ? items : undefined;
      },
      { description: 'the event folded to count 2', timeoutMs: 10_000 },
    );
    expect(folded).toHaveLength(1);
  });

  it('restarts without false transitions: adopted conditions and objects, no duplicate writes (NPD #304)', async () => {
    const failedLp2 = port('lp2', {
      state: 'Failed',
      reason: 'InterfaceError',
      message: 'could not open network device lp2 (No such device)',
    });
    const degradedBefore = await condition('OvnPlugDegraded');
    const readyBefore = await condition('OvnPlugReady');
    const objectsBefore = await portPlugs();
    await sinks?.stop();

    sinks = startSinks();
    await sinks.ready;
    sinks.update(startingSnapshot());
    await new Promise((r) => setTimeout(r, 1500));
    // Still the previous run's view while the new run syncs: nothing flipped to "not synced".
    expect(await condition('OvnPlugDegraded')).toEqual(degradedBefore);
    expect(await condition('OvnPlugReady')).toEqual(readyBefore);

    // Synced, same ports as before: nothing to write at all.
    sinks.update(snapshot({ nodeName: NODE, ports: [port('lp1', { ofport: 5 }), failedLp2] }));
    await new Promise((r) => setTimeout(r, 1000));
    await sinks.portPlugs?.idle();
    expect(sinks.conditions?.writeCount).toBe(0);
    expect(sinks.portPlugs?.stats).toEqual({
      created: 0,
      statusUpdates: 0,
      deleted: 0,
      events: 0,
      errors: 0,
    });
    expect((await portPlugs()).map((o) => o.metadata.resourceVersion)).toEqual(
      objectsBefore.map((o) => o.metadata.resourceVersion),
    );

    // A second failing port: the message changes, the status does not, so lastTransitionTime stays.
    const failedLp3 = port('lp3', {
      state: 'Failed',
      reason: 'InterfaceError',
      message: 'could not open network device lp3',
    });
    sinks.update(snapshot({ nodeName: NODE, ports: [port('lp1', { ofport: 5 }), failedLp2, failedLp3] }));
    const degradedAfter = await waitUntil(
      async () => {
        const found = await condition('OvnPlugDegraded');
        return found?.message === '2 Failed (lp2, lp3)' ? found : undefined;
      },
      { description: 'Degraded naming lp2 and lp3', timeoutMs: 10_000 },
    );
    expect(degradedAfter.lastTransitionTime).toBe(degradedBefore?.lastTransitionTime);
    expect(degradedAfter.lastHeartbeatTime).not.toBe(degradedBefore?.lastHeartbeatTime);
    await waitForStates({ lp1: 'Bound', lp2: 'Failed', lp3: 'Failed' });
    await sinks.portPlugs?.idle();
    expect(sinks.portPlugs?.stats).toEqual({
      created: 1,
      statusUpdates: 1,
      deleted: 0,
      events: 1,
      errors: 0,
    });
  });

  it('unplugs: the object of a port no longer reported is deleted', async () => {
    sinks?.update(snapshot({ nodeName: NODE, ports: [port('lp1', { ofport: 5 })] }));
    await waitForStates({ lp1: 'Bound' });
    await waitForCondition('OvnPlugDegraded', 'NoPortProblems');
    const table = await kube.kubectl('get', 'portplugs', '-o', 'wide');
    expect(table.trim().split('\n')).toHaveLength(2);
  });

  it('removeKubeStatus (the uninstall hook) removes the conditions and objects, leaving the kubelet condition', async () => {
    await sinks?.stop();
    sinks = undefined;
    const result = await removeKubeStatus({ client: admin, nodes: 'all' });
    expect(result).toEqual({ nodesCleaned: [NODE], portPlugsDeleted: 1 });
    expect((await node()).status?.conditions).toEqual([KUBELET_READY]);
    expect(await portPlugs()).toEqual([]);
  });

  it('PortPlug objects are garbage-collected with their Node', async () => {
    sinks = startSinks();
    await sinks.ready;
    sinks.update(snapshot({ nodeName: NODE, ports: [port('gc1'), port('gc2')] }));
    await waitForStates({ gc1: 'Bound', gc2: 'Bound' });
    await sinks.stop();
    sinks = undefined;
    await kube.kubectl('delete', 'node', NODE, '--wait=false');
    await waitUntil(async () => (await portPlugs()).length === 0, {
      description: 'PortPlugs collected with the Node',
      timeoutMs: 60_000,
    });
  });
});
