/**
 * The benchmarks' NB writer and SB watcher, on our own client so that t0/t1 are not skewed by
 * process spawns: `addPorts` commits plug-requesting logical ports in one NB transaction and
 * returns when it was sent; `waitUp` resolves when the SB shows every named Port_Binding `up`.
 */
import { performance } from 'node:perf_hooks';
import { mutation, OvsdbClient, where, type ChangeBatch, type NamedUuid } from '../../src/ovsdb/index.js';
import { waitUntil, type OvnCentral } from '../../test/harness/index.js';

export interface ProbeOptions {
  /**
   * Logical ports per logical switch: port number `offset + j` of {@link Probe.addPorts} goes to
   * switch `bench-<floor(n / portsPerSwitch)>`, created in the same NB transaction when new.
   * Default: every port on the one switch `bench`.
   */
  readonly portsPerSwitch?: number;
}

export class Probe {
  readonly nb: OvsdbClient;
  readonly #portsPerSwitch: number | undefined;
  readonly sb: OvsdbClient;
  readonly #up = new Set<string>();
  readonly #waiters: { names: Set<string>; resolve: () => void }[] = [];

  constructor(central: OvnCentral, options: ProbeOptions = {}) {
    this.#portsPerSwitch = options.portsPerSwitch;
    this.nb = new OvsdbClient({
      remotes: central.nbRemote,
      database: 'OVN_Northbound',
      tables: {
        Logical_Switch: { columns: ['name', 'ports'] },
        Logical_Switch_Port: { columns: ['name', 'addresses', 'options'], where: false },
      },
    });
    this.sb = new OvsdbClient({
      remotes: central.sbRemote,
      database: 'OVN_Southbound',
      leaderOnly: false,
      tables: { Port_Binding: { columns: ['logical_port', 'up'] } },
    });
    this.sb.on('change', (batch) => this.#onChange(batch));
  }

  async start(): Promise<void> {
    this.nb.start();
    this.sb.start();
    await Promise.all([this.nb.ready(), this.sb.ready()]);
    if (this.#portsPerSwitch !== undefined) return;
    const outcome = await this.nb.transact((tx) => {
      tx.insert('Logical_Switch', { name: 'bench' });
    });
    if (outcome.status !== 'success')
      throw new Error(`creating the switch failed: ${JSON.stringify(outcome)}`);
    await waitUntil(() => this.nb.table('Logical_Switch').all().length > 0, {
      description: 'switch in the NB replica',
    });
  }

  /** Only the rows a message touched: a node with 10,000 ports must not cost 10,000 per message. */
  #onChange(batch: ChangeBatch): void {
    const changes = batch.tables['Port_Binding'];
    if (changes === undefined) return;
    const rows = [...changes.inserted, ...changes.modified.map((m) => m.row)];
    for (const row of rows) {
      const name = row['logical_port'];
      if (typeof name !== 'string') continue;
      if (row['up'] === true) this.#up.add(name);
      else this.#up.delete(name);
    }
    for (const row of changes.deleted) {
      const name = row['logical_port'];
      if (typeof name === 'string') this.#up.delete(name);
    }
    this.#settle();
  }

  #settle(): void {
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      const waiter = this.#waiters[i];
      if (waiter === undefined) continue;
      let all = true;
      for (const name of waiter.names) {
        if (!this.#up.has(name)) {
          all = false;
          break;
        }
      }
      if (all) {
        this.#waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  /**
   * Commits `names` as plug-requesting ports in one NB transaction; resolves with t0, taken when
   * the transaction is sent (the reply can be processed after SB updates it caused, which would
   * make a reply-time t0 late by a variable amount; sending time is the same for both setups).
   * `offset` numbers the ports (MAC addresses that do not collide across calls, and the switch
   * each goes to); `switchNumber` puts them all on that switch instead (`portsPerSwitch` only).
   */
  async addPorts(
    names: readonly string[],
    chassis: string,
    offset = 0,
    switchNumber?: number,
  ): Promise<number> {
    const existing = new Set(
      this.nb
        .table('Logical_Switch')
        .all()
        .map((row) => row['name']),
    );
    const t0 = performance.now();
    const outcome = await this.nb.transact(
      (tx) => {
        const portsBySwitch = new Map<string, NamedUuid[]>();
        names.forEach((name, j) => {
          const i = offset + j;
          const ref = tx.insert('Logical_Switch_Port', {
            name,
            addresses: [`f0:00:00:${hex(i >> 16)}:${hex((i >> 8) & 255)}:${hex(i & 255)}`],
            options: new Map([
              ['requested-chassis', chassis],
              ['vif-plug-type', 'dummy'],
            ]),
          });
          const sw =
            this.#portsPerSwitch === undefined
              ? 'bench'
              : `bench-${switchNumber ?? Math.floor(i / this.#portsPerSwitch)}`;
          const refs = portsBySwitch.get(sw);
          if (refs === undefined) portsBySwitch.set(sw, [ref]);
          else refs.push(ref);
        });
        for (const [sw, refs] of portsBySwitch) {
          if (existing.has(sw))
            tx.mutate('Logical_Switch', [where('name', '==', sw)], [mutation('ports', 'insert', refs)]);
          else tx.insert('Logical_Switch', { name: sw, ports: refs });
        }
      },
      { timeoutMs: 300_000 },
    );
    if (outcome.status !== 'success') throw new Error(`NB transaction failed: ${JSON.stringify(outcome)}`);
    return t0;
  }

  waitUp(names: readonly string[], timeoutMs = 120_000): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for ${names.length} port(s) up`)),
        timeoutMs,
      );
      this.#waiters.push({
        names: new Set(names),
        resolve: () => {
          clearTimeout(timer);
          resolve(performance.now());
        },
      });
      this.#settle();
    });
  }

  async close(): Promise<void> {
    await Promise.all([this.nb.close(), this.sb.close()]);
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}
