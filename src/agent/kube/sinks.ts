/**
 * The one entry point the agent's composition root needs: build the client from a kubeconfig
 * (or the in-cluster ServiceAccount), start the node-condition manager and the PortPlug syncer,
 * and hand them every status snapshot.
 */
import type { AgentStatus } from '../status/index.js';
import { KubeClient, createHttpsTransport, type KubeTransport } from './client.js';
import { EventRecorder } from './events.js';
import { inClusterConfig, loadKubeconfig, type KubeConnection } from './kubeconfig.js';
import { NodeConditionManager, type NodeConditionManagerOptions } from './node-conditions.js';
import type { KubeSinkObserver } from './observer.js';
import { PortPlugSyncer, type PortPlugSyncerOptions } from './port-plug-syncer.js';
import { silentLogger, systemClock, type Clock, type KubeLogger } from './runtime.js';

type Tunables<T> = Partial<Omit<T, 'client' | 'nodeName' | 'clock' | 'logger' | 'events' | 'observer'>>;

export interface KubeStatusSinksOptions {
  /** The node this agent runs on (`--node-name`, from the downward API in the DaemonSet). */
  readonly nodeName: string;
  /** Where the API server is: a client (tests), a transport, or a resolved connection. */
  readonly client?: KubeClient;
  readonly transport?: KubeTransport;
  readonly connection?: KubeConnection;
  readonly clock?: Clock;
  readonly logger?: KubeLogger;
  /** Told about every API request the sinks make and the PortPlug backlog (metrics). */
  readonly observer?: KubeSinkObserver;
  readonly conditions?: Tunables<NodeConditionManagerOptions> | false;
  readonly portPlugs?: Tunables<PortPlugSyncerOptions> | false;
  /** Write Warning Events for Failed/Conflict transitions; default true. */
  readonly events?: boolean;
  /** Namespace of the Events; default `default` (required for cluster-scoped objects). */
  readonly eventNamespace?: string;
}

/** What the agent holds: feed snapshots, stop on exit. */
export interface KubeStatusSinks {
  update(status: AgentStatus): void;
  /** Stops timers and waits briefly for in-flight writes; conditions and objects stay. */
  stop(): Promise<void>;
  readonly conditions: NodeConditionManager | undefined;
  readonly portPlugs: PortPlugSyncer | undefined;
  /** Resolves when both sinks have read their starting state from the API server. */
  readonly ready: Promise<void>;
}

/**
 * Resolves how to reach the API server: `--kubeconfig` when given, else the in-cluster
 * ServiceAccount (`env` is `process.env`, passed in by `main.ts`; an exec credential plugin
 * inherits it).
 */
export function resolveKubeConnection(options: {
  readonly kubeconfig?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}): KubeConnection {
  return options.kubeconfig !== undefined && options.kubeconfig !== ''
    ? loadKubeconfig(options.kubeconfig, { env: options.env })
    : inClusterConfig({ env: options.env });
}

/** A client over HTTPS for `connection` (what `remove-kube-status` and the sinks use). */
export function createKubeClient(
  connection: KubeConnection,
  options: { readonly clock?: Clock; readonly timeoutMs?: number } = {},
): KubeClient {
  return new KubeClient({
    transport: createHttpsTransport(connection, { clock: options.clock ?? systemClock }),
    ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
  });
}

function clientFor(options: KubeStatusSinksOptions, clock: Clock): KubeClient {
  if (options.client !== undefined) return options.client;
  if (options.transport !== undefined) return new KubeClient({ transport: options.transport });
  if (options.connection !== undefined) return createKubeClient(options.connection, { clock });
  throw new TypeError('startKubeStatusSinks needs a client, a transport or a connection');
}

/** Starts the sinks in the background (API errors are retried and logged, never thrown). */
export function startKubeStatusSinks(options: KubeStatusSinksOptions): KubeStatusSinks {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const client = clientFor(options, clock);
  const observer = options.observer;
  const base = {
    client,
    nodeName: options.nodeName,
    clock,
    logger,
    ...(observer !== undefined && { observer }),
  };
  const conditions =
    options.conditions === false ? undefined : new NodeConditionManager({ ...options.conditions, ...base });
  const events =
    options.events === false
      ? undefined
      : new EventRecorder({
          client,
          nodeName: options.nodeName,
          clock,
          ...(observer !== undefined && { observer }),
          ...(options.eventNamespace !== undefined && { namespace: options.eventNamespace }),
        });
  const portPlugs =
    options.portPlugs === false
      ? undefined
      : new PortPlugSyncer({ ...options.portPlugs, ...base, ...(events !== undefined && { events }) });
  const ready = Promise.all([conditions?.start(), portPlugs?.start()]).then(() => undefined);
  ready.catch((error: unknown) => logger.error({ err: error }, 'Kubernetes status sinks failed to start'));
  return {
    conditions,
    portPlugs,
    ready,
    update(status) {
      conditions?.update(status);
      portPlugs?.update(status);
    },
    async stop() {
      conditions?.stop();
      portPlugs?.stop();
      await Promise.race([
        ready.catch(() => undefined),
        new Promise<void>((resolve) => clock.setTimer(resolve, 2000)),
      ]);
    },
  };
}
