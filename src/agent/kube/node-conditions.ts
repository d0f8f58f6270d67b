/**
 * Keeps the node's `OvnPlug*` conditions in step with the agent, following node-problem-detector's
 * conventions and its users' complaints:
 *
 * - Every write is a strategic-merge PATCH of `nodes/<name>/status` carrying only our conditions
 *   (the list is merged by `type`, so the kubelet's and other agents' conditions are untouched and
 *   there is no resourceVersion conflict).
 * - A content change is written within about a second (`flushDelayMs`), coalesced with whatever
 *   else changes meanwhile, and never more often than `minWriteIntervalMs`.
 * - `lastTransitionTime` moves only when `status` flips; reason/message changes keep it.
 * - `lastHeartbeatTime` is refreshed only by a write; with no change, a write happens every
 *   `heartbeatIntervalMs` (default 5 min, as KEP-589 and NPD).
 * - Failed writes are retried with capped exponential backoff; only the newest content is sent.
 * - At start the node's existing conditions are read and adopted (NPD #304): if the new run
 *   arrives at the same status, `lastTransitionTime` is kept; while the agent has not yet synced
 *   both databases, adopted conditions are left as they are for `startupGraceMs` instead of being
 *   flipped to "not synced" and back. Stale `OvnPlug*` types we no longer own are deleted.
 * - {@link NodeConditionManager.removeConditions} deletes our conditions (uninstall, ADR 0072).
 */
import type { AgentStatus } from '../status/index.js';
import type { Node, NodeCondition } from 'kubernetes-types/core/v1.js';
import type { KubeClient } from './client.js';
import {
  OWNED_CONDITION_PREFIX,
  OWNED_CONDITION_TYPES,
  isSettled,
  summarizeConditions,
  type ConditionContent,
} from './condition-summary.js';
import { observed, silentObserver, type KubeSinkObserver } from './observer.js';
import { backoffDelayMs, type BackoffOptions } from './pacing.js';
import { kubeTime, silentLogger, systemClock, type Clock, type KubeLogger, type Timer } from './runtime.js';

/** A condition status read from the server; anything outside the API's three values is `Unknown`. */
function conditionStatus(value: string): ConditionContent['status'] {
  return value === 'True' || value === 'False' ? value : 'Unknown';
}

export interface NodeConditionManagerOptions {
  readonly client: KubeClient;
  readonly nodeName: string;
  readonly clock?: Clock;
  readonly logger?: KubeLogger;
  /** Told about every API request (kind `node_status`); default: nobody. */
  readonly observer?: KubeSinkObserver;
  /** Unchanged conditions are re-written this often to refresh `lastHeartbeatTime`; default 5 min. */
  readonly heartbeatIntervalMs?: number;
  /** Delay between the first change and its write, to coalesce bursts; default 250 ms. */
  readonly flushDelayMs?: number;
  /** Minimum spacing between writes; default 1 s. */
  readonly minWriteIntervalMs?: number;
  /** How long conditions from a previous run are kept while the agent is not synced; default 60 s. */
  readonly startupGraceMs?: number;
  readonly backoff?: BackoffOptions;
  /** Port names listed per state in messages; default 5. */
  readonly maxNamesInMessage?: number;
}

interface WrittenCondition {
  readonly content: ConditionContent;
  readonly lastTransitionTime: string;
}

function nodeStatusPath(nodeName: string): string {
  return `/api/v1/nodes/${encodeURIComponent(nodeName)}/status`;
}

function nodePath(nodeName: string): string {
  return `/api/v1/nodes/${encodeURIComponent(nodeName)}`;
}

function sameContent(a: ConditionContent, b: ConditionContent): boolean {
  return a.status === b.status && a.reason === b.reason && a.message === b.message;
}

/** Strategic-merge directive that deletes the list element with this merge key. */
function deleteDirective(type: string): Record<string, string> {
  return { type, $patch: 'delete' };
}

/** Owns the `OvnPlug*` conditions of one Node. Feed it snapshots with {@link update}. */
export class NodeConditionManager {
  readonly #client: KubeClient;
  readonly #nodeName: string;
  readonly #clock: Clock;
  readonly #logger: KubeLogger;
  readonly #observer: KubeSinkObserver;
  readonly #heartbeatMs: number;
  readonly #flushDelayMs: number;
  readonly #minIntervalMs: number;
  readonly #graceMs: number;
  readonly #backoff: BackoffOptions;
  readonly #maxNames: number;

  /** What the node carries (as last written by us, or adopted at start). */
  readonly #written = new Map<string, WrittenCondition>();
  /** Types with our prefix found on the node that we no longer own; deleted on the next write. */
  #staleTypes: string[] = [];
  #adoptedAny = false;
  #latest: AgentStatus | undefined;
  #desired: ConditionContent[] | undefined;
  #dirtySinceMs: number | undefined;
  #lastWriteMs: number | undefined;
  #lastAttemptMs: number | undefined;
  #failures = 0;
  #retryAtMs: number | undefined;
  #startedAtMs: number | undefined;
  #inFlight: Promise<void> | undefined;
  #timer: Timer | undefined;
  #timerDueMs: number | undefined;
  #stopped = false;
  #writes = 0;

  constructor(options: NodeConditionManagerOptions) {
    if (options.nodeName === '') throw new TypeError('NodeConditionManager needs a node name, got ""');
    this.#client = options.client;
    this.#nodeName = options.nodeName;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? silentLogger;
    this.#observer = options.observer ?? silentObserver;
    this.#heartbeatMs = options.heartbeatIntervalMs ?? 300_000;
    this.#flushDelayMs = options.flushDelayMs ?? 250;
    this.#minIntervalMs = options.minWriteIntervalMs ?? 1000;
    this.#graceMs = options.startupGraceMs ?? 60_000;
    this.#backoff = options.backoff ?? {};
    this.#maxNames = options.maxNamesInMessage ?? 5;
  }

  /**
   * Reads the node's current conditions (retrying with backoff until it succeeds or
   * {@link stop} is called) and then starts writing. Snapshots given before are kept.
   */
  async start(): Promise<void> {
    for (let attempt = 1; !this.#stopped; attempt += 1) {
      try {
        const node = await observed(
          this.#observer,
          'node_status',
          this.#client.get<Node>(nodePath(this.#nodeName)),
        );
        this.#adopt(node.status?.conditions ?? []);
        break;
      } catch (error) {
        const delay = backoffDelayMs(attempt, this.#backoff);
        this.#logger.warn(
          { err: error, node: this.#nodeName, retryInMs: delay },
          'cannot read the node; retrying',
        );
        await new Promise<void>((resolve) => this.#clock.setTimer(resolve, delay));
      }
    }
    if (this.#stopped) return;
    this.#startedAtMs = this.#clock.now();
    if (this.#latest !== undefined) this.update(this.#latest);
    this.#schedule();
  }

  #adopt(conditions: readonly NodeCondition[]): void {
    for (const condition of conditions) {
      if (OWNED_CONDITION_TYPES.includes(condition.type)) {
        this.#written.set(condition.type, {
          content: {
            type: condition.type,
            status: conditionStatus(condition.status),
            reason: condition.reason ?? '',
            message: condition.message ?? '',
          },
          lastTransitionTime: condition.lastTransitionTime ?? kubeTime(this.#clock.now()),
        });
        this.#adoptedAny = true;
        const heartbeat =
          condition.lastHeartbeatTime === undefined ? NaN : Date.parse(condition.lastHeartbeatTime);
        if (Number.isFinite(heartbeat))
          this.#lastWriteMs = Math.min(this.#lastWriteMs ?? heartbeat, heartbeat);
      } else if (condition.type.startsWith(OWNED_CONDITION_PREFIX)) {
        this.#staleTypes.push(condition.type);
      }
    }
    this.#logger.info(
      { node: this.#nodeName, adopted: [...this.#written.keys()], stale: this.#staleTypes },
      'read existing node conditions',
    );
  }

  /** Takes the newest snapshot; a resulting change is written soon, coalesced with later ones. */
  update(status: AgentStatus): void {
    this.#latest = status;
    if (this.#startedAtMs === undefined || this.#stopped) return;
    this.#desired = summarizeConditions(status, { maxNames: this.#maxNames });
    // A change that reverts before its write keeps the earlier deadline, so a flapping port
    // cannot postpone writes forever; an unneeded write is skipped when the deadline comes.
    if (this.#differs()) this.#dirtySinceMs ??= this.#clock.now();
    this.#schedule();
  }

  /** The conditions as the node carries them, to our knowledge. */
  conditions(): NodeCondition[] {
    return [...this.#written.values()].map((written) => ({
      ...written.content,
      lastTransitionTime: written.lastTransitionTime,
    }));
  }

  /** Number of successful PATCHes so far (for tests and metrics). */
  get writeCount(): number {
    return this.#writes;
  }

  #differs(): boolean {
    if (this.#desired === undefined) return false;
    if (this.#staleTypes.length > 0) return true;
    return this.#desired.some((content) => {
      const written = this.#written.get(content.type);
      return written === undefined || !sameContent(written.content, content);
    });
  }

  /** Previous-run conditions are kept while the agent is starting and not yet synced. */
  #holding(now: number): boolean {
    return (
      this.#adoptedAny &&
      this.#latest !== undefined &&
      !isSettled(this.#latest) &&
      this.#startedAtMs !== undefined &&
      now < this.#startedAtMs + this.#graceMs
    );
  }

  #nextDueMs(now: number): number | undefined {
    if (this.#desired === undefined || this.#startedAtMs === undefined) return undefined;
    if (this.#holding(now)) return this.#startedAtMs + this.#graceMs;
    if (this.#dirtySinceMs !== undefined && !this.#differs()) this.#dirtySinceMs = undefined;
    let due: number;
    if (this.#dirtySinceMs !== undefined) {
      due = this.#dirtySinceMs + this.#flushDelayMs;
    } else {
      due = (this.#lastWriteMs ?? now) + this.#heartbeatMs;
      if (this.#lastWriteMs === undefined) due = now;
    }
    if (this.#lastAttemptMs !== undefined) due = Math.max(due, this.#lastAttemptMs + this.#minIntervalMs);
    if (this.#retryAtMs !== undefined) due = Math.max(due, this.#retryAtMs);
    return due;
  }

  #schedule(): void {
    if (this.#stopped || this.#inFlight !== undefined) return;
    const now = this.#clock.now();
    const due = this.#nextDueMs(now);
    if (due === undefined) return;
    if (this.#timer !== undefined && this.#timerDueMs === due) return;
    this.#timer?.cancel();
    this.#timerDueMs = due;
    this.#timer = this.#clock.setTimer(
      () => {
        this.#timer = undefined;
        this.#timerDueMs = undefined;
        this.#onTimer();
      },
      Math.max(0, due - now),
    );
  }

  #onTimer(): void {
    const now = this.#clock.now();
    const due = this.#nextDueMs(now);
    if (due === undefined || due > now || this.#desired === undefined) {
      this.#schedule();
      return;
    }
    const desired = this.#desired;
    this.#inFlight = this.#write(desired, now).finally(() => {
      this.#inFlight = undefined;
      this.#schedule();
    });
  }

  async #write(desired: readonly ConditionContent[], now: number): Promise<void> {
    this.#lastAttemptMs = now;
    const stamp = kubeTime(now);
    const next = new Map<string, WrittenCondition>();
    for (const content of desired) {
      const previous = this.#written.get(content.type);
      const keepTransition = previous !== undefined && previous.content.status === content.status;
      next.set(content.type, {
        content,
        lastTransitionTime: keepTransition ? previous.lastTransitionTime : stamp,
      });
    }
    const stale = this.#staleTypes;
    const body = {
      status: {
        conditions: [
          ...[...next.values()].map((written) => ({
            ...written.content,
            lastTransitionTime: written.lastTransitionTime,
            lastHeartbeatTime: stamp,
          })),
          ...stale.map(deleteDirective),
        ],
      },
    };
    try {
      await observed(
        this.#observer,
        'node_status',
        this.#client.patch(nodeStatusPath(this.#nodeName), body, 'strategic'),
      );
    } catch (error) {
      this.#failures += 1;
      const delay = backoffDelayMs(this.#failures, this.#backoff);
      this.#retryAtMs = this.#clock.now() + delay;
      this.#logger.warn(
        { err: error, node: this.#nodeName, failures: this.#failures, retryInMs: delay },
        'cannot update node conditions; will retry',
      );
      return;
    }
    this.#writes += 1;
    this.#failures = 0;
    this.#retryAtMs = undefined;
    this.#staleTypes = this.#staleTypes.filter((type) => !stale.includes(type));
    for (const [type, written] of next) {
      const before = this.#written.get(type);
      if (before === undefined || !sameContent(before.content, written.content)) {
        this.#logger.info(
          {
            node: this.#nodeName,
            condition: type,
            status: written.content.status,
            reason: written.content.reason,
          },
          'node condition changed',
        );
      }
      this.#written.set(type, written);
    }
    this.#lastWriteMs = now;
    this.#dirtySinceMs = this.#differs() ? (this.#dirtySinceMs ?? now) : undefined;
  }

  /** Writes pending changes now (ignoring the coalescing delay) and waits for the result. */
  async flush(): Promise<void> {
    if (this.#inFlight !== undefined) await this.#inFlight;
    if (this.#desired === undefined || this.#startedAtMs === undefined || !this.#differs()) return;
    if (this.#holding(this.#clock.now())) return;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#timerDueMs = undefined;
    const write = this.#write(this.#desired, this.#clock.now());
    this.#inFlight = write;
    try {
      await write;
    } finally {
      this.#inFlight = undefined;
      this.#schedule();
    }
  }

  /** Stops timers; the node keeps the conditions as last written (an upgrade must not flap them). */
  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /** Stops, then deletes every `OvnPlug*` condition from the node (uninstall). */
  async removeConditions(): Promise<void> {
    this.stop();
    if (this.#inFlight !== undefined) await this.#inFlight;
    await removeNodeConditions(this.#client, this.#nodeName);
    this.#written.clear();
  }
}

/**
 * Deletes the agent's conditions (every `OvnPlug*` type, including ones older versions owned)
 * from one node. Resolves `false` when the node carried none or does not exist.
 */
export async function removeNodeConditions(client: KubeClient, nodeName: string): Promise<boolean> {
  const node = await client.getIfExists<Node>(nodePath(nodeName));
  const types = (node?.status?.conditions ?? [])
    .map((condition) => condition.type)
    .filter((type) => type.startsWith(OWNED_CONDITION_PREFIX));
  if (types.length === 0) return false;
  await client.patch(
    nodeStatusPath(nodeName),
    { status: { conditions: types.map(deleteDirective) } },
    'strategic',
  );
  return true;
}
