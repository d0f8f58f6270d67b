/**
 * Polling with a deadline: the harness never sleeps a fixed time to "let something settle"; it
 * asks a condition again and again (5 ms, growing to 50 ms between tries) until it holds or the
 * deadline passes, and then fails naming what it waited for.
 */

export interface WaitOptions {
  /** What is being waited for, used in the timeout error ("Port_Binding lsp1 up"). */
  readonly description: string;
  /** Deadline in milliseconds from the call; default 10,000. */
  readonly timeoutMs?: number;
  /** Upper bound of the pause between two tries; default 50 ms. */
  readonly maxIntervalMs?: number;
}

/** Thrown by {@link waitUntil} when the deadline passes; carries the last error the predicate threw. */
export class WaitTimeoutError extends Error {
  constructor(
    readonly description: string,
    readonly timeoutMs: number,
    options?: ErrorOptions,
  ) {
    super(`timed out after ${timeoutMs} ms waiting for ${description}`, options);
    this.name = 'WaitTimeoutError';
  }
}

/**
 * Resolves with the first truthy value `predicate` returns. A predicate that throws counts as
 * "not yet"; the last such error becomes the `cause` of the timeout error. A predicate may throw
 * an {@link AbortWait} to stop waiting at once (e.g. the process being waited for has exited).
 */
export async function waitUntil<T>(
  predicate: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: WaitOptions,
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxIntervalMs = options.maxIntervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let interval = 5;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value;
    } catch (error) {
      if (error instanceof AbortWait) throw error.reason;
      lastError = error;
    }
    if (Date.now() >= deadline) {
      throw new WaitTimeoutError(
        options.description,
        timeoutMs,
        lastError === undefined ? undefined : { cause: lastError },
      );
    }
    await delay(Math.min(interval, Math.max(1, deadline - Date.now())));
    interval = Math.min(interval * 2, maxIntervalMs);
  }
}

/** Thrown from a {@link waitUntil} predicate to end the wait with `reason` instead of retrying. */
export class AbortWait extends Error {
  constructor(readonly reason: Error) {
    super(reason.message);
    this.name = 'AbortWait';
  }
}

/** A promise that resolves after `ms` milliseconds (for pacing polls, never for settling). */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
