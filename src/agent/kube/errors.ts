/**
 * Errors raised by the Kubernetes client. Every API failure carries the HTTP status and the
 * `Status` object's reason and message, so callers can branch on `code` (404, 409, 422 …)
 * without parsing text.
 */

/** The API server answered with a non-2xx status. */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  /** HTTP status code, e.g. 404. */
  readonly code: number;
  /** `Status.reason`, e.g. `NotFound`, `AlreadyExists`, `Conflict`, `Forbidden`, when present. */
  readonly reason: string | undefined;
  readonly method: string;
  readonly path: string;

  constructor(init: {
    code: number;
    reason: string | undefined;
    message: string;
    method: string;
    path: string;
  }) {
    super(
      `${init.method} ${init.path}: ${init.code}${init.reason ? ` ${init.reason}` : ''}: ${init.message}`,
    );
    this.code = init.code;
    this.reason = init.reason;
    this.method = init.method;
    this.path = init.path;
  }
}

/** The request never got an answer: connection refused, TLS failure, timeout. */
export class KubeTransportError extends Error {
  override readonly name = 'KubeTransportError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A kubeconfig or in-cluster configuration that cannot be used; the message names the value. */
export class KubeConfigError extends Error {
  override readonly name = 'KubeConfigError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** True when `error` is an API error with HTTP status `code`. */
export function isKubeApiError(error: unknown, code?: number): error is KubeApiError {
  return error instanceof KubeApiError && (code === undefined || error.code === code);
}
