/**
 * Representor link state from sysfs (`<sysfsRoot>/class/net/<netdev>/operstate`), for the port
 * state `Down` (DESIGN §3.5): on a DPU a representor's carrier follows its host function, so a
 * stopped VM (its VF down) shows here although OVS may still report the representor as up.
 *
 * `linkState()` must answer synchronously, so it answers from a cache; every `refresh()` (from the
 * provider's `run()`, once a second) re-reads the netdevs asked about since, and reports whether
 * any answer changed so the agent replans. A netdev without the file (not a kernel netdev, or gone)
 * is unknown, never down.
 */
import { join } from 'node:path';
import type { LinkObservation } from '../../plug/index.js';

/** Kernel operstates (RFC 2863) that mean the link cannot carry traffic. */
const DOWN_STATES = new Set(['down', 'lowerlayerdown']);

export function operstatePath(sysfsRoot: string, netdev: string): string {
  return join(sysfsRoot, 'class', 'net', netdev, 'operstate');
}

/** A link observation from the text of an `operstate` file; undefined for `unknown` and the like. */
export function parseOperstate(netdev: string, text: string): LinkObservation | undefined {
  const state = text.trim().toLowerCase();
  if (state === 'up') return { up: true };
  if (DOWN_STATES.has(state))
    return { up: false, reason: `representor netdev "${netdev}" has operstate ${state}` };
  return undefined;
}

export class OperstateCache {
  readonly #root: string;
  readonly #readFile: (path: string) => Promise<string>;
  readonly #seen = new Map<string, LinkObservation | undefined>();
  #refreshing: Promise<boolean> | undefined;

  constructor(sysfsRoot: string, readFile: (path: string) => Promise<string>) {
    this.#root = sysfsRoot;
    this.#readFile = readFile;
  }

  /** The last observation of `netdev`; the first call only registers it for the next refresh. */
  get(netdev: string): LinkObservation | undefined {
    if (!this.#seen.has(netdev)) this.#seen.set(netdev, undefined);
    return this.#seen.get(netdev);
  }

  /** Re-reads every registered netdev; resolves true when an observation changed. */
  refresh(): Promise<boolean> {
    this.#refreshing ??= this.#readAll().finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  async #readAll(): Promise<boolean> {
    let changed = false;
    await Promise.all(
      [...this.#seen.keys()].map(async (netdev) => {
        let next: LinkObservation | undefined;
        try {
          next = parseOperstate(netdev, await this.#readFile(operstatePath(this.#root, netdev)));
        } catch {
          next = undefined;
        }
        const before = this.#seen.get(netdev);
        if (before?.up !== next?.up) changed = true;
        this.#seen.set(netdev, next);
      }),
    );
    return changed;
  }
}
