/**
 * Kubernetes Events (core/v1) for port problems, deduplicated the way the kubelet's recorder
 * does it: a repeat of the same (object, reason, message) within `dedupWindowMs` bumps `count`
 * and `lastTimestamp` of the existing Event instead of creating another one.
 */
import type { Event, ObjectReference } from 'kubernetes-types/core/v1.js';
import type { KubeClient } from './client.js';
import { isKubeApiError } from './errors.js';
import { observed, silentObserver, type KubeSinkObserver } from './observer.js';
import { kubeTime, systemClock, type Clock } from './runtime.js';

/** Namespace for Events about cluster-scoped objects (the API requires `default` or none). */
export const DEFAULT_EVENT_NAMESPACE = 'default';

export interface EventRecorderOptions {
  readonly client: KubeClient;
  /** Reported as `source.host` and `reportingInstance`. */
  readonly nodeName: string;
  readonly namespace?: string;
  readonly component?: string;
  readonly clock?: Clock;
  /** Repeats within this window are folded into one Event; default 10 min. */
  readonly dedupWindowMs?: number;
  /** How many distinct recent events are remembered for folding; default 4,096. */
  readonly maxRemembered?: number;
  /** Told about every API request (kind `event`); default: nobody. */
  readonly observer?: KubeSinkObserver;
}

export interface RecordedEvent {
  /** Named: the Event's own name is derived from it. */
  readonly involvedObject: ObjectReference & { readonly name: string };
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

interface Remembered {
  readonly name: string;
  count: number;
  lastMs: number;
}

export type RecordResult = 'created' | 'folded';

/** Writes Events; not rate-limited itself (the caller paces writes). */
export class EventRecorder {
  readonly #client: KubeClient;
  readonly #nodeName: string;
  readonly #namespace: string;
  readonly #component: string;
  readonly #clock: Clock;
  readonly #windowMs: number;
  readonly #max: number;
  readonly #recent = new Map<string, Remembered>();
  readonly #observer: KubeSinkObserver;

  constructor(options: EventRecorderOptions) {
    this.#client = options.client;
    this.#nodeName = options.nodeName;
    this.#namespace = options.namespace ?? DEFAULT_EVENT_NAMESPACE;
    this.#component = options.component ?? 'ovn-plug-agent';
    this.#clock = options.clock ?? systemClock;
    this.#windowMs = options.dedupWindowMs ?? 600_000;
    this.#max = options.maxRemembered ?? 4096;
    this.#observer = options.observer ?? silentObserver;
  }

  #eventsPath(name?: string): string {
    const base = `/api/v1/namespaces/${encodeURIComponent(this.#namespace)}/events`;
    return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
  }

  /** Creates the Event, or folds it into a recent identical one. */
  async record(event: RecordedEvent): Promise<RecordResult> {
    const now = this.#clock.now();
    const key = JSON.stringify([
      event.involvedObject.uid ?? event.involvedObject.name,
      event.type,
      event.reason,
      event.message,
    ]);
    const recent = this.#recent.get(key);
    if (recent !== undefined && now - recent.lastMs < this.#windowMs) {
      try {
        await observed(
          this.#observer,
          'event',
          this.#client.patch(
            this.#eventsPath(recent.name),
            { count: recent.count + 1, lastTimestamp: kubeTime(now) },
            'merge',
          ),
        );
        recent.count += 1;
        recent.lastMs = now;
        return 'folded';
      } catch (error) {
        // The Event expired (the API server keeps them about an hour): start a new one.
        if (!isKubeApiError(error, 404)) throw error;
      }
    }
    const name = `${event.involvedObject.name.slice(0, 240).replace(/[.-]+$/, '')}.${now.toString(16)}`;
    const stamp = kubeTime(now);
    const body: Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: this.#namespace },
      involvedObject: event.involvedObject,
      type: event.type,
      reason: event.reason,
      message: event.message.slice(0, 1024),
      source: { component: this.#component, host: this.#nodeName },
      reportingComponent: this.#component,
      reportingInstance: this.#nodeName,
      firstTimestamp: stamp,
      lastTimestamp: stamp,
      count: 1,
    };
    const created = this.#client.create(this.#eventsPath(), body);
    await observed(this.#observer, 'event', created);
    this.#recent.delete(key);
    this.#recent.set(key, { name, count: 1, lastMs: now });
    if (this.#recent.size > this.#max) {
      const oldest = this.#recent.keys().next();
      if (oldest.done !== true) this.#recent.delete(oldest.value);
    }
    return 'created';
  }
}
