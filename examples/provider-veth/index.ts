/**
 * Example external plug provider, type `veth`: gives a logical port a veth pair, plugs the host
 * end into the integration bridge and leaves the other end (the "peer", e.g. for a container) to
 * whoever asked for it.
 *
 * Logical port options:
 * - `vif-plug-type=veth`
 * - `vif-plug:veth:peer=<ifname>` (required): name of the peer end, 1–15 characters.
 *
 * The host end is named `vh` + 13 hex digits of SHA-256(logical port name): stable across
 * restarts, within the kernel's 15-character limit, and unlikely to collide.
 *
 * It shows the provider rules in practice (docs/providers.md):
 * - `prepare()` never waits: it answers from the link table that `run()` refreshes, starts
 *   `ip link add` in the background when the pair is missing and answers not-now meanwhile;
 *   when the command finished, the next `run()` returns true and the agent asks again.
 * - the pair is deleted only in `finish()` of a removal, i.e. after the agent's transaction that
 *   took the port off the bridge committed.
 *
 * Self-contained on purpose (Node built-ins and type-only imports), so it compiles to a single
 * JavaScript file for `--provider-module`.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import type {
  InventoryItem,
  PlugAnswer,
  PlugProvider,
  PlugReady,
  PlugRequest,
  ProviderContext,
  ProviderInventory,
  ProviderLogger,
} from '../../src/plug/provider.js';

export const VETH_PEER_OPTION = 'vif-plug:veth:peer';

export interface VethProviderOptions {
  /** The `ip` binary. Default `ip` from the PATH. */
  readonly ipCommand?: string;
  /** Network namespace to create the pairs in (`ip -n`); default the agent's own. */
  readonly netns?: string;
  /** Delay before retrying a failed `ip link add`. Default 2 s. */
  readonly retryMs?: number;
  /** Milliseconds clock. Default `Date.now`. */
  readonly now?: () => number;
}

interface IpResult {
  readonly ok: boolean;
  readonly stdout: string;
  readonly error: string;
}

interface VethLink {
  readonly name: string;
  /** The other end's name, when it is in the same namespace. */
  readonly peer?: string;
}

type Creation =
  | { readonly state: 'running' }
  | { readonly state: 'failed'; readonly error: string; readonly retryAt: number };

const IFNAME = /^[^\s/:]{1,15}$/;

/** The host end's name for a logical port. */
export function hostEndName(logicalPort: string): string {
  return `vh${createHash('sha256').update(logicalPort).digest('hex').slice(0, 13)}`;
}

export class VethProvider implements PlugProvider {
  readonly type = 'veth';
  readonly #logger: ProviderLogger;
  readonly #ip: string;
  readonly #netnsArgs: readonly string[];
  readonly #retryMs: number;
  readonly #now: () => number;
  #links = new Map<string, VethLink>();
  #creations = new Map<string, Creation>();
  #dirty = false;

  constructor(context: ProviderContext, options: VethProviderOptions = {}) {
    this.#logger = context.logger;
    this.#ip = options.ipCommand ?? 'ip';
    this.#netnsArgs = options.netns === undefined ? [] : ['-n', options.netns];
    this.#retryMs = options.retryMs ?? 2_000;
    this.#now = options.now ?? Date.now;
  }

  /** Fails (provider unavailable) when `ip` cannot list links here. */
  async init(): Promise<void> {
    const error = await this.#refresh();
    if (error !== undefined) throw new Error(`cannot list veth links with "${this.#ip}": ${error}`);
  }

  async run(): Promise<boolean> {
    const before = JSON.stringify([...this.#links.values()]);
    const error = await this.#refresh();
    if (error !== undefined) throw new Error(`cannot list veth links: ${error}`);
    const dirty = this.#dirty;
    this.#dirty = false;
    return dirty || JSON.stringify([...this.#links.values()]) !== before;
  }

  maintainedIfaceOptions(): readonly string[] {
    return [];
  }

  prepare(request: PlugRequest): PlugAnswer {
    const host = hostEndName(request.logicalPort);
    if (request.operation === 'remove')
      return { kind: 'ready', name: request.existing?.name ?? host, options: {} };
    const peer = request.options[VETH_PEER_OPTION];
    if (peer === undefined)
      return { kind: 'notNow', code: 'MissingPeer', reason: `option "${VETH_PEER_OPTION}" is missing` };
    if (!IFNAME.test(peer)) {
      return {
        kind: 'notNow',
        code: 'MalformedPeer',
        reason: `option "${VETH_PEER_OPTION}" is not an interface name (1–15 characters, no blanks, "/" or ":"): "${peer}"`,
      };
    }
    const link = this.#links.get(host);
    if (link !== undefined) {
      if (link.peer !== undefined && link.peer !== peer) {
        return {
          kind: 'notNow',
          code: 'PeerMismatch',
          reason: `veth ${host} exists with peer "${link.peer}", not "${peer}": delete it to recreate`,
        };
      }
      return { kind: 'ready', name: host, options: {} };
    }
    const creation = this.#creations.get(host);
    if (creation?.state === 'running')
      return { kind: 'notNow', code: 'CreatingVeth', reason: `creating veth ${host} with peer "${peer}"` };
    if (creation?.state === 'failed' && creation.retryAt > this.#now()) {
      return {
        kind: 'notNow',
        code: 'VethCreateFailed',
        reason: `creating veth ${host} with peer "${peer}" failed: ${creation.error}`,
      };
    }
    this.#create(host, peer);
    return { kind: 'notNow', code: 'CreatingVeth', reason: `creating veth ${host} with peer "${peer}"` };
  }

  finish(request: PlugRequest, answer: PlugReady): void {
    if (request.operation !== 'remove' || !this.#links.has(answer.name)) return;
    void this.#ipCommand(['link', 'del', answer.name]).then((result) => {
      if (!result.ok)
        this.#logger.warn(
          { veth: answer.name, error: result.error },
          'veth provider: deleting the veth failed',
        );
      this.#links.delete(answer.name);
      this.#dirty = true;
    });
  }

  inventory(): ProviderInventory {
    const items: InventoryItem[] = [...this.#links.values()]
      .filter((link) => /^vh[0-9a-f]{13}$/.test(link.name))
      .map((link): InventoryItem => {
        const details: Record<string, string> = link.peer === undefined ? {} : { peer: link.peer };
        return { id: link.name, name: link.name, details };
      });
    return { items };
  }

  #create(host: string, peer: string): void {
    this.#creations.set(host, { state: 'running' });
    void this.#ipCommand(['link', 'add', host, 'type', 'veth', 'peer', 'name', peer])
      .then((added) => (added.ok ? this.#ipCommand(['link', 'set', host, 'up']) : added))
      .then(async (result) => {
        if (result.ok) {
          this.#creations.delete(host);
          await this.#refresh();
        } else {
          this.#creations.set(host, {
            state: 'failed',
            error: result.error,
            retryAt: this.#now() + this.#retryMs,
          });
          this.#logger.warn(
            { veth: host, peer, error: result.error },
            'veth provider: creating the veth failed',
          );
        }
        this.#dirty = true;
      });
  }

  /** Reloads the veth links; returns an error text when `ip` failed. */
  async #refresh(): Promise<string | undefined> {
    const result = await this.#ipCommand(['-j', 'link', 'show', 'type', 'veth']);
    if (!result.ok) return result.error;
    let parsed: unknown;
    try {
      parsed = JSON.parse(result.stdout === '' ? '[]' : result.stdout);
    } catch {
      return `"ip -j link show" printed no JSON: ${result.stdout.slice(0, 80)}`;
    }
    const links = new Map<string, VethLink>();
    for (const entry of Array.isArray(parsed) ? (parsed as unknown[]) : []) {
      if (typeof entry !== 'object' || entry === null) continue;
      const { ifname, link } = entry as { ifname?: unknown; link?: unknown };
      if (typeof ifname !== 'string') continue;
      links.set(ifname, typeof link === 'string' ? { name: ifname, peer: link } : { name: ifname });
    }
    this.#links = links;
    return undefined;
  }

  #ipCommand(args: readonly string[]): Promise<IpResult> {
    return new Promise((resolve) => {
      execFile(this.#ip, [...this.#netnsArgs, ...args], { timeout: 10_000 }, (error, stdout, stderr) => {
        const message = stderr.trim() || (error === null ? '' : error.message);
        resolve({ ok: error === null, stdout, error: message });
      });
    });
  }
}

export default VethProvider;
