/**
 * Cluster preparation and reads shared by the tests that run the agent's Kubernetes status against
 * a real kube-apiserver.
 */
import { resolve } from 'node:path';
import type { KubeApiServer } from '../../harness/kube/index.js';

const PORTPLUG_CRD = resolve('deploy/crds/portplugs.ovn-plug-agent.io.yaml');
const CHART = resolve('deploy/helm/ovn-plug-agent');

/**
 * Installs the PortPlug CRD (and waits until it is Established), gives the agent's ServiceAccount
 * `namespace/release` exactly the chart's RBAC, and creates Node `node`. Returns the agent's
 * kubeconfig and what `kubectl apply` of the RBAC wrote to stderr, for suites that check it.
 */
export async function prepareAgentCluster(
  kube: KubeApiServer,
  { namespace, release, node }: { namespace: string; release: string; node: string },
): Promise<{ agentKubeconfig: string; rbacApplyStderr: string }> {
  await kube.kubectl('apply', '-f', PORTPLUG_CRD);
  await kube.kubectl(
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/portplugs.ovn-plug-agent.io',
  );
  const agentKubeconfig = await kube.agentKubeconfig(namespace, release);
  const rbac = await kube.helm(
    'template',
    release,
    CHART,
    '--namespace',
    namespace,
    '--show-only',
    'templates/rbac.yaml',
  );
  const applied = await kube.run('kubectl', ['apply', '-f', '-'], { input: rbac });
  await kube.run('kubectl', ['apply', '-f', '-'], {
    input: `apiVersion: v1\nkind: Node\nmetadata:\n  name: ${node}\n`,
  });
  return { agentKubeconfig, rbacApplyStderr: applied.stderr };
}

/** The fields of a core/v1 Event the tests read. */
export interface EventItem {
  type: string;
  reason: string;
  message: string;
  count: number;
}

/** The Events in namespace `default` matching `fieldSelector` (e.g. `involvedObject.kind=PortPlug`). */
export async function defaultNamespaceEvents(
  kube: KubeApiServer,
  fieldSelector: string,
): Promise<EventItem[]> {
  const out = await kube.kubectl(
    'get',
    'events',
    '-n',
    'default',
    '--field-selector',
    fieldSelector,
    '-o',
    'json',
  );
  return (JSON.parse(out) as { items: EventItem[] }).items;
}

/**
 * Creates the uninstall hook's ServiceAccount, ClusterRole and ClusterRoleBinding exactly as the
 * chart renders them (templates/cleanup-hook.yaml, without its Job: no controller runs Jobs here)
 * and returns a kubeconfig for that ServiceAccount.
 */
export async function prepareCleanupHookIdentity(
  kube: KubeApiServer,
  { namespace, release }: { namespace: string; release: string },
): Promise<string> {
  const rendered = await kube.helm(
    'template',
    release,
    CHART,
    '--namespace',
    namespace,
    '--show-only',
    'templates/cleanup-hook.yaml',
  );
  const documents = rendered.split(/^---$/m).filter((doc) => /^kind: /m.test(doc));
  const identity = documents.filter((doc) => !/^kind: Job$/m.test(doc));
  const serviceAccount = identity
    .find((doc) => /^kind: ServiceAccount$/m.test(doc))
    ?.match(/^metadata:\n {2}name: (\S+)$/m)?.[1];
  if (identity.length !== 3 || serviceAccount === undefined) {
    throw new Error(`templates/cleanup-hook.yaml rendered unexpectedly:\n${rendered}`);
  }
  const applied = await kube.run('kubectl', ['apply', '-f', '-'], { input: identity.join('\n---\n') });
  if (applied.exitCode !== 0) {
    throw new Error(`kubectl apply of the cleanup hook's RBAC exited ${applied.exitCode}: ${applied.stderr}`);
  }
  return kube.agentKubeconfig(namespace, serviceAccount);
}
