/**
 * One measured process of `npm run bench:kube-client` (bench/kube-client.ts starts it, compiled,
 * with `node --max-semi-space-size=1 --expose-gc`). Loads one Kubernetes client, makes the agent's
 * calls with it, and prints its memory after each phase as one JSON line on stdout.
 *
 *   node kube-client-child.js <client> <kubeconfig> <node> <rounds> [<client-node entry file>]
 *
 * `<client>` is `none` (the empty process every cost is measured against), `narrow`
 * (src/agent/kube) or `client-node` (the entry file of an installed `@kubernetes/client-node`).
 * Phases: `loaded` (module imported, kubeconfig read, API objects built) and `called` (after
 * `<rounds>` rounds of the agent's calls: GET its Node, PATCH the Node status, POST a PortPlug,
 * PATCH its status, LIST PortPlugs by label, DELETE it, POST an Event).
 */
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

interface Phase {
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly externalBytes: number;
}

/** The agent's calls, whichever client makes them. */
interface AgentCalls {
  getNode(name: string): Promise<unknown>;
  patchNodeStatus(name: string, body: unknown): Promise<unknown>;
  createPortPlug(body: unknown): Promise<unknown>;
  patchPortPlugStatus(name: string, body: unknown): Promise<unknown>;
  listPortPlugs(labelSelector: string): Promise<unknown>;
  deletePortPlug(name: string): Promise<unknown>;
  createEvent(namespace: string, body: unknown): Promise<unknown>;
}

const GROUP = 'ovn-plug-agent.io';
const VERSION = 'v1alpha1';
const PLURAL = 'portplugs';

async function settle(): Promise<Phase> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  for (let i = 0; i < 4; i++) {
    gc();
    await sleep(150);
  }
  await sleep(500);
  gc();
  const usage = process.memoryUsage();
  return { rssBytes: usage.rss, heapUsedBytes: usage.heapUsed, externalBytes: usage.external };
}

async function narrowCalls(kubeconfig: string): Promise<AgentCalls> {
  // The compiled copy of src/ sits next to this file's compiled copy.
  const kube = await import('../src/agent/kube/index.js');
  const client = kube.createKubeClient(kube.loadKubeconfig(kubeconfig));
  const portPlugs = `/apis/${GROUP}/${VERSION}/${PLURAL}`;
  return {
    getNode: (name) => client.get(`/api/v1/nodes/${name}`),
    patchNodeStatus: (name, body) => client.patch(`/api/v1/nodes/${name}/status`, body, 'strategic'),
    createPortPlug: (body) => client.create(portPlugs, body),
    patchPortPlugStatus: (name, body) => client.patch(`${portPlugs}/${name}/status`, body, 'merge'),
    listPortPlugs: (labelSelector) => client.list(portPlugs, { labelSelector }),
    deletePortPlug: (name) => client.delete(`${portPlugs}/${name}`),
    createEvent: (namespace, body) => client.create(`/api/v1/namespaces/${namespace}/events`, body),
  };
}

/** The part of `@kubernetes/client-node` 1.x/2.x (object-parameter API) used here. */
interface ClientNodeModule {
  readonly KubeConfig: new () => {
    loadFromFile(path: string): void;
    makeApiClient(api: unknown): unknown;
  };
  readonly CoreV1Api: unknown;
  readonly CustomObjectsApi: unknown;
  setHeaderOptions(key: string, value: string): unknown;
}

interface ClientNodeCore {
  readNode(param: { name: string }): Promise<unknown>;
  patchNodeStatus(param: { name: string; body: unknown }, options?: unknown): Promise<unknown>;
  createNamespacedEvent(param: { namespace: string; body: unknown }): Promise<unknown>;
}

interface ClusterObject {
  group: string;
  version: string;
  plural: string;
}

interface ClientNodeCustom {
  createClusterCustomObject(param: ClusterObject & { body: unknown }): Promise<unknown>;
  patchClusterCustomObjectStatus(
    param: ClusterObject & { name: string; body: unknown },
    options?: unknown,
  ): Promise<unknown>;
  listClusterCustomObject(param: ClusterObject & { labelSelector: string }): Promise<unknown>;
  deleteClusterCustomObject(param: ClusterObject & { name: string }): Promise<unknown>;
}

async function clientNodeCalls(kubeconfig: string, entry: string): Promise<AgentCalls> {
  const k8s = (await import(pathToFileURL(entry).href)) as ClientNodeModule;
  const config = new k8s.KubeConfig();
  config.loadFromFile(kubeconfig);
  const core = config.makeApiClient(k8s.CoreV1Api) as ClientNodeCore;
  const custom = config.makeApiClient(k8s.CustomObjectsApi) as ClientNodeCustom;
  const strategic = k8s.setHeaderOptions('Content-Type', 'application/strategic-merge-patch+json');
  const merge = k8s.setHeaderOptions('Content-Type', 'application/merge-patch+json');
  const kind: ClusterObject = { group: GROUP, version: VERSION, plural: PLURAL };
  return {
    getNode: (name) => core.readNode({ name }),
    patchNodeStatus: (name, body) => core.patchNodeStatus({ name, body }, strategic),
    createPortPlug: (body) => custom.createClusterCustomObject({ ...kind, body }),
    patchPortPlugStatus: (name, body) =>
      custom.patchClusterCustomObjectStatus({ ...kind, name, body }, merge),
    listPortPlugs: (labelSelector) => custom.listClusterCustomObject({ ...kind, labelSelector }),
    deletePortPlug: (name) => custom.deleteClusterCustomObject({ ...kind, name }),
    createEvent: (namespace, body) => core.createNamespacedEvent({ namespace, body }),
  };
}

async function callRound(calls: AgentCalls, client: string, node: string, round: number): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  await calls.getNode(node);
  await calls.patchNodeStatus(node, {
    status: {
      conditions: [
        {
          type: 'OvnPlugBench',
          status: 'True',
          reason: `Round${round}`,
          message: `bench round ${round} by ${client}`,
          lastHeartbeatTime: now,
          lastTransitionTime: now,
        },
      ],
    },
  });
  const name = `${node}.bench-${client}-${process.pid}-${round}`;
  const label = `${GROUP}/node=${node}`;
  await calls.createPortPlug({
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'PortPlug',
    metadata: { name, labels: { [`${GROUP}/node`]: node } },
    spec: { nodeName: node, logicalPort: `bench-${client}-${round}` },
  });
  await calls.patchPortPlugStatus(name, {
    status: {
      state: 'Plugged',
      reason: 'Plugged',
      message: 'bench',
      provider: 'dummy',
      firstSeenTime: now,
      lastTransitionTime: now,
    },
  });
  await calls.listPortPlugs(label);
  await calls.deletePortPlug(name);
  await calls.createEvent('default', {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { generateName: `${node}.bench.`, namespace: 'default' },
    involvedObject: { apiVersion: `${GROUP}/${VERSION}`, kind: 'PortPlug', name },
    reason: 'Bench',
    message: `bench round ${round}`,
    type: 'Normal',
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
    source: { component: 'ovn-plug-agent-bench' },
  });
}

async function main(): Promise<void> {
  const [client, kubeconfig, node, roundsText, entry] = process.argv.slice(2);
  if (client === undefined || kubeconfig === undefined || node === undefined || roundsText === undefined) {
    throw new Error(
      'usage: kube-client-child <none|narrow|client-node> <kubeconfig> <node> <rounds> [entry]',
    );
  }
  const rounds = Number(roundsText);
  let calls: AgentCalls | undefined;
  if (client === 'narrow') calls = await narrowCalls(kubeconfig);
  else if (client === 'client-node') {
    if (entry === undefined) throw new Error('client-node needs the entry file of the package');
    calls = await clientNodeCalls(kubeconfig, entry);
  } else if (client !== 'none') throw new Error(`unknown client "${client}"`);
  const loaded = await settle();
  if (calls !== undefined) {
    for (let round = 0; round < rounds; round++) await callRound(calls, client, node, round);
  }
  const called = await settle();
  process.stdout.write(`${JSON.stringify({ client, loaded, called })}\n`);
  // Keep-alive sockets of either client would hold the process open.
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
