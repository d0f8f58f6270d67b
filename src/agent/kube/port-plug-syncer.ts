/**
 * Mirrors the agent's per-port status into PortPlug objects, one per port, paced so that a node
 * with 1,000 ports cannot flood the API server:
 *
 * - Level-triggered: each snapshot replaces the desired set; a port whose status changes several
 *   times while it waits in the queue is written once, with its newest status.
 * - Writes only on change: an object is touched only when its status differs from what this
 *   syncer last wrote or found on the server.
 * - Every request (create, status patch, delete, event) takes a token from one bucket
 *   (`writesPerSecond`, `burst`).
 * - At start the node's existing objects are listed and adopted; objects of ports the agent no
 *   longer reports are deleted, but only once the agent has synced both databases (a snapshot
 *   taken before that may simply not know the port yet).
 * - A transition into `Failed` or `Conflict` records a Warning Event, into `Down` a Normal one,
 *   on the object (folded with an identical recent one, see {@link EventRecorder}); an object adopted at start already in
 *   that state with that reason produces no new Event.
 * - Failed requests are retried with capped backoff per object.
 */
import type { AgentStatus } from '../status/index.js';
import type { Node } from 'kubernetes-types/core/v1.js';
import type { KubeClient } from './client.js';
import { isSettled } from './condition-summary.js';
import { isKubeApiError } from './errors.js';
import type { EventRecorder } from './events.js';
import { observed, silentObserver, type KubeSinkObserver } from './observer.js';
import { TokenBucket, backoffDelayMs, sleep, type BackoffOptions } from './pacing.js';
import {
  NODE_LABEL,
  PORT_PLUGS_PATH,
  PORT_PLUG_GROUP,
  PORT_PLUG_PLURAL,
  PORT_PLUG_API_VERSION,
  PORT_PLUG_KIND,
  newPortPlug,
  nodeLabelValue,
  portPlugName,
  portPlugPath,
  portPlugStatus,
  sameStatus,
  statusPatch,
  type PortPlugObject,
  type PortPlugStatus,
} from './port-plug-resource.js';
import { silentLogger, systemClock, type Clock, type KubeLogger } from './runtime.js';

export interface PortPlugSyncerOptions {
  readonly client: KubeClient;
  readonly nodeName: string;
  readonly clock?: Clock;
  readonly logger?: KubeLogger;
  /** Sustained API requests per second; default 20. */
  readonly writesPerSecond?: number;
  /** Requests allowed back to back; default 50. */
  readonly burst?: number;
  /** Records Warning Events for Failed/Conflict transitions; omit to record none. */
  readonly events?: EventRecorder;
  readonly backoff?: BackoffOptions;
  /** Told about every API request (kind `portplug`) and the pending-write count; default: nobody. */
  readonly observer?: KubeSinkObserver;
}

interface Known {
  readonly uid: string;
  readonly logicalPort: string;
  status: PortPlugStatus | undefined;
}

interface Desired {
  readonly logicalPort: string;
  readonly status: PortPlugStatus;
}

/** Counters of what the syncer did, for tests and metrics. */
export interface PortPlugSyncStats {
  created: number;
  statusUpdates: number;
  deleted: number;
  events: number;
  errors: number;
}

/** Transitions that record an Event, and its type: `Down` is informational (DESIGN §3.5). */
const EVENT_TYPES: ReadonlyMap<string, 'Warning' | 'Normal'> = new Map([
  ['Failed', 'Warning'],
  ['Conflict', 'Warning'],
  ['Down', 'Normal'],
]);

/** Keeps this node's PortPlug objects equal to the newest snapshot. */
export class PortPlugSyncer {
  readonly #client: KubeClient;
  readonly #nodeName: string;
  readonly #clock: Clock;
  readonly #logger: KubeLogger;
  readonly #bucket: TokenBucket;
  readonly #events: EventRecorder | undefined;
  readonly #backoff: BackoffOptions;
  readonly #observer: KubeSinkObserver;
  #reportedPending = 0;

  #nodeUid: string | undefined;
  readonly #known = new Map<string, Known>();
  #desired = new Map<string, Desired>();
  /** Object names to reconcile, in arrival order. */
  readonly #queue = new Set<string>();
  /** Objects waiting out a retry delay: name → attempts so far. */
  readonly #failures = new Map<string, number>();
  /** Events owed for an object once it exists: name → the status that warrants it. */
  readonly #pendingEvents = new Map<string, PortPlugStatus>();
  #settled = false;
  #started = false;
  #stopped = false;
  #worker: Promise<void> | undefined;
  #idleWaiters: (() => void)[] = [];
  readonly stats: PortPlugSyncStats = { created: 0, statusUpdates: 0, deleted: 0, events: 0, errors: 0 };

  constructor(options: PortPlugSyncerOptions) {
    if (options.nodeName === '') throw new TypeError('PortPlugSyncer needs a node name, got ""');
    this.#client = options.client;
    this.#nodeName = options.nodeName;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? silentLogger;
    this.#events = options.events;
    this.#backoff = options.backoff ?? {};
    this.#observer = options.observer ?? silentObserver;
    this.#bucket = new TokenBucket({
      ratePerSecond: options.writesPerSecond ?? 20,
      burst: options.burst ?? 50,
      clock: this.#clock,
    });
  }

  /**
   * Reads the Node (its uid becomes the objects' owner) and adopts this node's existing objects,
   * retrying with backoff until it succeeds or {@link stop} is called; then starts writing.
   */
  async start(): Promise<void> {
    for (let attempt = 1; !this.#stopped; attempt += 1) {
      try {
        await this.#take();
        const node = await this.#request(
          this.#client.get<Node>(`/api/v1/nodes/${encodeURIComponent(this.#nodeName)}`),
        );
        const nodeUid = node.metadata?.uid;
        if (nodeUid === undefined) throw new Error(`node ${this.#nodeName} has no uid`);
        await this.#take();
        const existing = await this.#request(
          this.#client.list<PortPlugObject>(PORT_PLUGS_PATH, {
            labelSelector: `${NODE_LABEL}=${nodeLabelValue(this.#nodeName)}`,
          }),
        );
        this.#nodeUid = nodeUid;
        this.#adopt(existing);
        break;
      } catch (error) {
        const delay = backoffDelayMs(attempt, this.#backoff);
        const message = isKubeApiError(error, 404)
          ? `the Node or the PortPlug CRD (${PORT_PLUG_PLURAL}.${PORT_PLUG_GROUP}) does not exist; retrying`
          : 'cannot list PortPlug objects; retrying';
        this.#logger.warn({ err: error, node: this.#nodeName, retryInMs: delay }, message);
        await sleep(this.#clock, delay);
      }
    }
    if (this.#stopped) return;
    this.#started = true;
    for (const [name, owed] of this.#pendingEvents) {
      const adopted = this.#known.get(name)?.status;
      if (adopted !== undefined && adopted.state === owed.state && adopted.reason === owed.reason) {
        this.#pendingEvents.delete(name);
      }
    }
    for (const name of this.#known.keys()) this.#queue.add(name);
    for (const name of this.#desired.keys()) this.#queue.add(name);
    this.#kick();
  }

  #adopt(objects: readonly PortPlugObject[]): void {
    for (const object of objects) {
      const { name, uid } = object.metadata ?? {};
      if (object.spec?.nodeName !== this.#nodeName || name === undefined || uid === undefined) continue;
      this.#known.set(name, {
        uid,
        logicalPort: object.spec.logicalPort,
        status: object.status,
      });
    }
    this.#logger.info(
      { node: this.#nodeName, adopted: this.#known.size },
      'adopted existing PortPlug objects',
    );
  }

  /** Takes the newest snapshot; changed, new and vanished ports are queued. */
  update(status: AgentStatus): void {
    if (this.#stopped) return;
    const next = new Map<string, Desired>();
    for (const port of status.ports) {
      next.set(portPlugName(this.#nodeName, port.logicalPort), {
        logicalPort: port.logicalPort,
        status: portPlugStatus(port),
      });
    }
    for (const [name, desired] of next) {
      const before = this.#desired.get(name)?.status ?? this.#known.get(name)?.status;
      if (sameStatus(before, desired.status)) continue;
      this.#noteEvent(name, before, desired.status);
      this.#queue.add(name);
    }
    for (const name of this.#desired.keys()) if (!next.has(name)) this.#queue.add(name);
    this.#desired = next;
    const settledNow = isSettled(status);
    if (settledNow && !this.#settled) for (const name of this.#known.keys()) this.#queue.add(name);
    this.#settled = settledNow;
    this.#kick();
  }

  #noteEvent(name: string, before: PortPlugStatus | undefined, next: PortPlugStatus): void {
    if (this.#events === undefined || !EVENT_TYPES.has(next.state)) return;
    if (before !== undefined && before.state === next.state && before.reason === next.reason) return;
    this.#pendingEvents.set(name, next);
  }

  /** Resolves when every queued write is done (retries still waiting do not count). */
  async idle(): Promise<void> {
    if (this.#worker === undefined && (this.#queue.size === 0 || !this.#started)) return;
    await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  stop(): void {
    this.#stopped = true;
    this.#queue.clear();
    this.#reportPending();
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  /** Names of objects this syncer believes exist (for tests). */
  knownObjects(): string[] {
    return [...this.#known.keys()].sort();
  }

  /** PortPlug objects queued for a write that has not started yet. */
  get pendingWrites(): number {
    return this.#queue.size;
  }

  #request<T>(request: Promise<T>): Promise<T> {
    return observed(this.#observer, 'portplug', request);
  }

  /** Pushes the queue length when it changed since the last report (called where it changes). */
  #reportPending(): void {
    const pending = this.#queue.size;
    if (pending === this.#reportedPending) return;
    this.#reportedPending = pending;
    this.#observer.pendingWrites(pending);
  }

  async #take(): Promise<void> {
    const wait = this.#bucket.reserve();
    if (wait > 0) await sleep(this.#clock, wait);
  }

  #kick(): void {
    this.#reportPending();
    if (!this.#started || this.#stopped || this.#worker !== undefined || this.#queue.size === 0) return;
    this.#worker = this.#drain().finally(() => {
      this.#worker = undefined;
      if (this.#queue.size > 0 && !this.#stopped) this.#kick();
      else for (const resolve of this.#idleWaiters.splice(0)) resolve();
    });
  }

  async #drain(): Promise<void> {
    for (;;) {
      const next = this.#queue.values().next();
      if (next.done === true || this.#stopped) return;
      const name = next.value;
      this.#queue.delete(name);
      this.#reportPending();
      try {
        await this.#reconcile(name);
        this.#failures.delete(name);
      } catch (error) {
        this.stats.errors += 1;
        const attempts = (this.#failures.get(name) ?? 0) + 1;
        this.#failures.set(name, attempts);
        const delay = backoffDelayMs(attempts, this.#backoff);
        this.#logger.warn(
          { err: error, object: name, retryInMs: delay },
          'PortPlug write failed; will retry',
        );
        this.#clock.setTimer(() => {
          if (this.#stopped) return;
          this.#queue.add(name);
          this.#kick();
        }, delay);
      }
    }
  }

  async #reconcile(name: string): Promise<void> {
    const desired = this.#desired.get(name);
    const known = this.#known.get(name);
    if (desired === undefined) {
      if (known !== undefined && this.#settled) await this.#delete(name, known);
      return;
    }
    const current = known ?? (await this.#create(name, desired));
    if (!sameStatus(current.status, desired.status)) await this.#writeStatus(name, current, desired.status);
    const owed = this.#pendingEvents.get(name);
    if (owed !== undefined) {
      // Forgotten only once written, so a failed Event write is retried with the object.
      await this.#recordEvent(name, current.uid, owed);
      if (this.#pendingEvents.get(name) === owed) this.#pendingEvents.delete(name);
    }
  }

  async #create(name: string, desired: Desired): Promise<Known> {
    if (this.#nodeUid === undefined) throw new Error('PortPlugSyncer used before start()');
    await this.#take();
    let created: PortPlugObject;
    try {
      created = await this.#request(
        this.#client.create<PortPlugObject>(
          PORT_PLUGS_PATH,
          newPortPlug({ nodeName: this.#nodeName, nodeUid: this.#nodeUid, logicalPort: desired.logicalPort }),
        ),
      );
      this.stats.created += 1;
    } catch (error) {
      if (!isKubeApiError(error, 409)) throw error;
      // Created by an earlier incarnation after our listing: adopt it.
      await this.#take();
      created = await this.#request(this.#client.get<PortPlugObject>(portPlugPath(name)));
    }
    if (created.metadata.uid === undefined) throw new Error(`PortPlug ${name} came back without a uid`);
    const known: Known = {
      uid: created.metadata.uid,
      logicalPort: desired.logicalPort,
      status: created.status,
    };
    this.#known.set(name, known);
    return known;
  }

  async #writeStatus(name: string, known: Known, status: PortPlugStatus): Promise<void> {
    await this.#take();
    try {
      await this.#request(
        this.#client.patch(`${portPlugPath(name)}/status`, statusPatch(known.status, status), 'merge'),
      );
    } catch (error) {
      // Deleted behind our back (by hand, or with its Node): forget it; the retry re-creates it.
      if (isKubeApiError(error, 404)) this.#known.delete(name);
      throw error;
    }
    known.status = status;
    this.stats.statusUpdates += 1;
  }

  async #delete(name: string, known: Known): Promise<void> {
    await this.#take();
    try {
      await this.#request(this.#client.delete(portPlugPath(name), { uid: known.uid }));
    } catch (error) {
      // 409: the object was re-created by someone else; it is not ours to delete.
      if (!isKubeApiError(error, 409)) throw error;
    }
    this.#known.delete(name);
    this.#pendingEvents.delete(name);
    this.stats.deleted += 1;
  }

  async #recordEvent(name: string, uid: string, status: PortPlugStatus): Promise<void> {
    if (this.#events === undefined) return;
    await this.#take();
    await this.#events.record({
      involvedObject: { apiVersion: PORT_PLUG_API_VERSION, kind: PORT_PLUG_KIND, name, uid },
      type: EVENT_TYPES.get(status.state) ?? 'Warning',
      reason: status.reason === '' ? `Port${status.state}` : status.reason,
      message: `${status.state}: ${status.message}`,
    });
    this.stats.events += 1;
  }
}
