/**
 * The timers src/ovsdb arms (request and connect timeouts, the inactivity probe, the reconnect
 * backoff), injected so that tests can drive them without real waiting. Narrower than the agent's
 * runtime contract on purpose: this folder imports nothing from the rest of the project, and the
 * composition root passes real timers (the default) or adapts its own.
 */

export interface OvsdbTimer {
  cancel(): void;
}

export interface OvsdbTimers {
  /**
   * Calls `callback` once after `delayMs`, unless cancelled first. `unref: true` means the timer
   * alone does not keep the process alive (the inactivity probe); other timers do.
   */
  setTimer(callback: () => void, delayMs: number, options?: { readonly unref?: boolean }): OvsdbTimer;
  /**
   * Calls `callback` after the I/O already queued has been read (Node's `setImmediate`): the
   * inactivity probe lets one such turn through before it acts on silence.
   */
  afterPendingIo(callback: () => void): void;
}

/** Node's timers (the default). */
export const realOvsdbTimers: OvsdbTimers = {
  setTimer(callback, delayMs, options) {
    const handle = setTimeout(callback, delayMs);
    if (options?.unref === true) handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
  afterPendingIo(callback) {
    setImmediate(callback);
  },
};
