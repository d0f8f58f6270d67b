/**
 * Issue 9: port warnings reach the PortPlug object in a REAL kube-apiserver with the chart's CRD
 * (a field missing from the CRD schema would be pruned silently) and the chart's RBAC, and go
 * again when the warning clears; the port's state stays Bound throughout.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  KubeClient,
  createHttpsTransport,
  loadKubeconfig,
  startKubeStatusSinks,
  type KubeStatusSinks,
  type PortPlugObject,
} from '../../src/agent/kube/index.js';
import { port, snapshot } from '../../src/agent/kube/testing/status-builders.js';
import { startKubeApiServer, type KubeApiServer } from '../harness/kube/index.js';
import { waitUntil } from '../harness/index.js';
import { prepareAgentCluster } from './support/kube-setup.js';

const NODE = 'dpu-1';
const WARNING =
  'PortFunctionUnsupported: VF 2 (devlink port pci/0000:03:00.0/196610): cannot set roce enable: Unknown option "roce"';

let kube: KubeApiServer;
let admin: KubeClient;
let sinks: KubeStatusSinks | undefined;

beforeAll(async () => {
  kube = await startKubeApiServer({});
  admin = new KubeClient({ transport: createHttpsTransport(loadKubeconfig(kube.adminKubeconfig)) });
  const prepared = await prepareAgentCluster(kube, {
    namespace: 'ovn-plug',
    release: 'ovn-plug-agent',
    node: NODE,
  });
  sinks = startKubeStatusSinks({
    nodeName: NODE,
    connection: loadKubeconfig(prepared.agentKubeconfig),
    conditions: { flushDelayMs: 50, minWriteIntervalMs: 100, startupGraceMs: 5_000 },
    portPlugs: { writesPerSecond: 50, burst: 20 },
  });
  await sinks.ready;
}, 120_000);

afterAll(async () => {
  await sinks?.stop();
  await kube?.stop();
});

const object = (): Promise<PortPlugObject | undefined> =>
  admin
    .list<PortPlugObject>('/apis/ovn-plug-agent.io/v1alpha1/portplugs')
    .then((all) => all.find((o) => o.spec?.logicalPort === 'vm-roce'));

it('a Bound port with a warning shows it in status.warnings, and loses it when the warning goes', async () => {
  sinks?.update(
    snapshot({ nodeName: NODE, ports: [{ ...port('vm-roce', { ofport: 5 }), warnings: [WARNING] }] }),
  );
  const warned = await waitUntil(
    async () => ((await object())?.status?.warnings === WARNING ? object() : undefined),
    {
      description: 'PortPlug status.warnings',
      timeoutMs: 15_000,
    },
  );
  expect(warned?.status?.state).toBe('Bound');
  sinks?.update(snapshot({ nodeName: NODE, ports: [port('vm-roce', { ofport: 5 })] }));
  await waitUntil(async () => (await object())?.status?.warnings === undefined, {
    description: 'status.warnings removed',
    timeoutMs: 15_000,
  });
  expect((await object())?.status?.state).toBe('Bound');
});
