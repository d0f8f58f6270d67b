/**
 * The few Kubernetes API shapes the sinks read and write, typed as narrowly as they are used.
 * Fields the agent does not touch are left out on purpose: objects read from the server are
 * never written back whole (every write is a PATCH or a fresh object).
 */

export interface OwnerReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller?: boolean;
  readonly blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly creationTimestamp?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly ownerReferences?: readonly OwnerReference[];
}

/** `core/v1 NodeCondition`. */
export interface NodeCondition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason?: string;
  readonly message?: string;
  readonly lastHeartbeatTime?: string;
  readonly lastTransitionTime?: string;
}

export interface NodeObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: ObjectMeta;
  readonly status?: { readonly conditions?: readonly NodeCondition[] };
}

export interface ListResult<T> {
  readonly metadata?: { readonly continue?: string; readonly resourceVersion?: string };
  readonly items: readonly T[];
}

/** `core/v1 ObjectReference`, as used in `Event.involvedObject`. */
export interface ObjectReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid?: string;
  readonly namespace?: string;
}
