/**
 * How the Kubernetes sinks report what they do to a metrics backend without depending on one:
 * `main.ts` injects an implementation backed by prom-client; tests inject a recording one.
 * Calls are pushed as requests finish, so reporting costs one counter increment per request.
 */

/** Which sink made a request: the node-condition manager, the PortPlug syncer, the Event recorder. */
export type KubeRequestKind = 'node_status' | 'portplug' | 'event';
/** `error`: a non-2xx answer (including conflicts the sink then resolves) or a transport failure. */
export type KubeRequestOutcome = 'success' | 'error';

export const KUBE_REQUEST_KINDS: readonly KubeRequestKind[] = ['node_status', 'portplug', 'event'];
export const KUBE_REQUEST_OUTCOMES: readonly KubeRequestOutcome[] = ['success', 'error'];

export interface KubeSinkObserver {
  /** One API request finished. */
  request(kind: KubeRequestKind, outcome: KubeRequestOutcome): void;
  /** PortPlug objects queued for a write that has not started yet (rate limiter, retries due). */
  pendingWrites(count: number): void;
}

/** The default: reports nowhere. */
export const silentObserver: KubeSinkObserver = {
  request: () => undefined,
  pendingWrites: () => undefined,
};

/** Awaits `request` and reports its outcome as `kind`; rethrows failures unchanged. */
export async function observed<T>(
  observer: KubeSinkObserver,
  kind: KubeRequestKind,
  request: Promise<T>,
): Promise<T> {
  try {
    const result = await request;
    observer.request(kind, 'success');
    return result;
  } catch (error) {
    observer.request(kind, 'error');
    throw error;
  }
}
