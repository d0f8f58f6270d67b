/**
 * Uninstall clean-up (ADR 0072): removes every trace the agent leaves in the API server —
 * the `OvnPlug*` node conditions and the PortPlug objects — for the given nodes or for all.
 * Run by the Helm chart's pre-delete hook (`ovn-plug-agent remove-kube-status --all-nodes`).
 * The running agents never do this on their own: they are stopped on every upgrade too.
 */
import type { Node } from 'kubernetes-types/core/v1.js';
import type { KubeClient } from './client.js';
import { removeNodeConditions } from './node-conditions.js';
import {
  NODE_LABEL,
  PORT_PLUGS_PATH,
  nodeLabelValue,
  portPlugPath,
  type PortPlugObject,
} from './port-plug-resource.js';
import { isKubeApiError } from './errors.js';
import { silentLogger, type KubeLogger } from './runtime.js';

export interface RemoveKubeStatusOptions {
  readonly client: KubeClient;
  /** Nodes to clean, or `all` for every node in the cluster. */
  readonly nodes: readonly string[] | 'all';
  readonly logger?: KubeLogger;
}

export interface RemoveKubeStatusResult {
  /** Nodes whose conditions were removed. */
  readonly nodesCleaned: string[];
  readonly portPlugsDeleted: number;
}

/** Removes the agent's node conditions and PortPlug objects. A missing CRD is not an error. */
export async function removeKubeStatus(options: RemoveKubeStatusOptions): Promise<RemoveKubeStatusResult> {
  const logger = options.logger ?? silentLogger;
  const nodeNames =
    options.nodes === 'all'
      ? (await options.client.list<Node>('/api/v1/nodes')).flatMap((node) => node.metadata?.name ?? [])
      : [...options.nodes];
  const nodesCleaned: string[] = [];
  for (const name of nodeNames) {
    if (await removeNodeConditions(options.client, name)) nodesCleaned.push(name);
  }
  let portPlugsDeleted = 0;
  const selectors =
    options.nodes === 'all' ? [undefined] : nodeNames.map((name) => `${NODE_LABEL}=${nodeLabelValue(name)}`);
  for (const labelSelector of selectors) {
    let objects: PortPlugObject[];
    try {
      objects = await options.client.list<PortPlugObject>(
        PORT_PLUGS_PATH,
        labelSelector === undefined ? {} : { labelSelector },
      );
    } catch (error) {
      if (isKubeApiError(error, 404)) break;
      throw error;
    }
    for (const object of objects) {
      if (options.nodes !== 'all' && !nodeNames.includes(object.spec?.nodeName ?? '')) continue;
      const name = object.metadata?.name;
      if (name !== undefined && (await options.client.delete(portPlugPath(name)))) portPlugsDeleted += 1;
    }
  }
  logger.info({ nodesCleaned, portPlugsDeleted }, 'removed Kubernetes status written by ovn-plug-agent');
  return { nodesCleaned, portPlugsDeleted };
}
