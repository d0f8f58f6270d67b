/**
 * `npm run bench:lifecycle` — the everyday DPU lifecycle figures of issue 8, at DEFAULT flags, on
 * a real sandbox (NB, SB, ovn-northd, ovs-vswitchd dummy datapath, unmodified ovn-controller):
 *
 * - unplug: one logical port deleted in the NB until its Interface row is gone from the local OVS
 *   DB (t0 = our OVSDB client sends the NB transaction, t1 = a second client monitoring the OVS
 *   Interface table sees the row deleted);
 * - VF reuse: one NB transaction deletes the VM's port and creates a new one on the same VF (as a
 *   CMS hands a VF to a new VM), until the new port's SB `Port_Binding.up` is true. The new port
 *   has a new MAC, so the representor provider programs the VF's MAC first — through a FAKE devlink
 *   here (no DPU): each `devlink port function set` starts a Node process (0.1–0.8 s on a loaded
 *   machine, milliseconds on real hardware), so this figure is an upper bound.
 *
 * Both on a node with 1 port and on a node with 50 ports (49 others plugged and bound), `--runs=N`
 * samples each (default 15). The agent runs in this process (startAgent), as the tests run it.
 * The last line is exactly:
 *   lifecycle unplug1_p50_ms=<x> unplug50_p50_ms=<x> vfreuse1_p50_ms=<x> vfreuse50_p50_ms=<x>
 */
import { performance } from 'node:perf_hooks';
import { mutation, OvsdbClient, where, type NamedUuid } from '../src/ovsdb/index.js';
import { parseCommandLine, startAgent, type AgentHandle } from '../src/agent/index.js';
import { makeWorkDir, startSandbox, waitUntil, type Sandbox } from '../test/harness/index.js';
import { writeFakeDevlink } from '../test/fixtures/devlink/fake-devlink-wrapper.js';

const RUNS = Number(process.argv.find((a) => a.startsWith('--runs='))?.slice('--runs='.length) ?? 15);
const PF_MAC = '08:c0:eb:c4:2a:10';
const SWITCH = 'bench-lc';

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function mac(i: number): string {
  return `fa:16:3e:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
}

/** NB writer, SB `up` watcher and OVS Interface watcher on our own client (no process spawns). */
class Probe {
  readonly #nb: OvsdbClient;
  readonly #sb: OvsdbClient;
  readonly #ovs: OvsdbClient;
  readonly #events: (() => void)[] = [];

  constructor(sandbox: Sandbox) {
    this.#nb = new OvsdbClient({
      remotes: sandbox.central.nbRemote,
      database: 'OVN_Northbound',
      tables: {
        Logical_Switch: { columns: ['name', 'ports'] },
        Logical_Switch_Port: { columns: ['name', 'addresses', 'options'] },
      },
    });
    this.#sb = new OvsdbClient({
      remotes: sandbox.central.sbRemote,
      database: 'OVN_Southbound',
      leaderOnly: false,
      tables: { Port_Binding: { columns: ['logical_port', 'up'] } },
    });
    this.#ovs = new OvsdbClient({
      remotes: sandbox.node('hv1').ovs.dbRemote,
      database: 'Open_vSwitch',
      tables: { Interface: { columns: ['name', 'external_ids'] } },
    });
    for (const client of [this.#sb, this.#ovs]) client.on('change', () => this.#poke());
  }

  async start(): Promise<void> {
    for (const c of [this.#nb, this.#sb, this.#ovs]) c.start();
    await Promise.all([this.#nb.ready(), this.#sb.ready(), this.#ovs.ready()]);
    await this.#commit((tx) => void tx.insert('Logical_Switch', { name: SWITCH }));
  }

  #poke(): void {
    for (const check of [...this.#events]) check();
  }

  /** Resolves with the time `predicate` first holds (checked on every SB/OVS change). */
  #when(predicate: () => boolean, what: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#events.splice(this.#events.indexOf(check), 1);
        reject(new Error(`timed out waiting for ${what}`));
      }, 60_000);
      const check = (): void => {
        if (!predicate()) return;
        clearTimeout(timer);
        this.#events.splice(this.#events.indexOf(check), 1);
        resolve(performance.now());
      };
      this.#events.push(check);
      check();
    });
  }

  isUp(name: string): boolean {
    return this.#sb
      .table('Port_Binding')
      .all()
      .some((r) => r['logical_port'] === name && r['up'] === true);
  }

  hasInterface(logicalPort: string): boolean {
    return this.#ovs
      .table('Interface')
      .all()
      .some((r) => {
        const ids = r['external_ids'];
        return ids instanceof Map && ids.get('iface-id') === logicalPort;
      });
  }

  waitUp(name: string): Promise<number> {
    return this.#when(() => this.isUp(name), `${name} up`);
  }

  waitUnplugged(name: string): Promise<number> {
    return this.#when(() => !this.hasInterface(name), `${name} unplugged`);
  }

  #lspUuid(name: string): string {
    const row = this.#nb
      .table('Logical_Switch_Port')
      .all()
      .find((r) => r['name'] === name);
    if (row === undefined) throw new Error(`no logical switch port ${name}`);
    return row._uuid;
  }

  async #commit(build: Parameters<OvsdbClient['transact']>[0]): Promise<void> {
    const outcome = await this.#nb.transact(build);
    if (outcome.status !== 'success') throw new Error(`NB transaction failed: ${JSON.stringify(outcome)}`);
  }

  /** Deletes `remove` and adds `add` in one NB transaction; resolves with the time it was sent. */
  async change(
    remove: readonly string[],
    add: readonly { name: string; mac: string; options: Record<string, string> }[],
  ): Promise<number> {
    const gone = remove.map((name) => this.#lspUuid(name));
    const t0 = performance.now();
    await this.#commit((tx) => {
      const refs: NamedUuid[] = add.map((p) =>
        tx.insert('Logical_Switch_Port', {
          name: p.name,
          addresses: [p.mac],
          options: new Map(Object.entries({ 'requested-chassis': 'hv1', ...p.options })),
        }),
      );
      const mutations = [];
      if (gone.length > 0) mutations.push(mutation('ports', 'delete', gone));
      if (refs.length > 0) mutations.push(mutation('ports', 'insert', refs));
      tx.mutate('Logical_Switch', [where('name', '==', SWITCH)], mutations);
    });
    return t0;
  }

  async close(): Promise<void> {
    await Promise.all([this.#nb.close(), this.#sb.close(), this.#ovs.close()]);
  }
}

const dummy = { 'vif-plug-type': 'dummy' };
const onVf0 = {
  'vif-plug-type': 'representor',
  'vif-plug:representor:pf-mac': PF_MAC,
  'vif-plug:representor:vf-num': '0',
};

async function measure(probe: Probe, size: number, generation: { n: number }) {
  const unplug: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const name = `u${size}-${i}`;
    await probe.change([], [{ name, mac: mac(1000 + i), options: dummy }]);
    await probe.waitUp(name);
    const t0 = await probe.change([name], []);
    unplug.push((await probe.waitUnplugged(name)) - t0);
  }
  const reuse: number[] = [];
  let current = `r${generation.n}`;
  await probe.change([], [{ name: current, mac: mac(generation.n), options: onVf0 }]);
  await probe.waitUp(current);
  for (let i = 0; i < RUNS; i++) {
    generation.n += 1;
    const next = `r${generation.n}`;
    const t0 = await probe.change([current], [{ name: next, mac: mac(generation.n), options: onVf0 }]);
    reuse.push((await probe.waitUp(next)) - t0);
    current = next;
  }
  await probe.change([current], []);
  await probe.waitUnplugged(current);
  return { unplug, reuse };
}

async function main(): Promise<void> {
  const sandbox = await startSandbox({ chassis: ['hv1'] });
  let agent: AgentHandle | undefined;
  const probe = new Probe(sandbox);
  try {
    const devlinkDir = await makeWorkDir('devlink', sandbox.dir, 'devlink');
    const devlink = await writeFakeDevlink(devlinkDir.path);
    const parsed = parseCommandLine(
      [
        `--ovs-db=${sandbox.node('hv1').ovs.dbRemote}`,
        '--providers=dummy,representor',
        `--devlink-command=${devlink.command}`,
        '--log-level=silent',
      ],
      {},
    );
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    agent = await startAgent(parsed.config);
    await probe.start();
    const started = agent;
    await waitUntil(() => started.status().sb.synced && started.status().ovs.synced, {
      description: 'agent synced',
      timeoutMs: 30_000,
    });
    const generation = { n: 0 };
    console.log(`topology: 1 chassis (hv1), default flags, ${RUNS} samples per figure`);
    const one = await measure(probe, 1, generation);
    const fillers = Array.from({ length: 49 }, (_, i) => ({
      name: `f${i}`,
      mac: mac(2000 + i),
      options: dummy,
    }));
    await probe.change([], fillers);
    for (const f of fillers) await probe.waitUp(f.name);
    const fifty = await measure(probe, 50, generation);
    const line = (what: string, v: number[]) =>
      console.log(
        `${what}: p50 ${percentile(v, 50).toFixed(1)} ms, p90 ${percentile(v, 90).toFixed(1)} ms (n=${v.length})`,
      );
    line('unplug, 1-port node (NB commit → Interface gone)', one.unplug);
    line('unplug, 50-port node', fifty.unplug);
    line('VF reuse, 1-port node (delete + create → new port up; FAKE devlink MAC programming)', one.reuse);
    line('VF reuse, 50-port node', fifty.reuse);
    console.log(
      `lifecycle unplug1_p50_ms=${percentile(one.unplug, 50).toFixed(1)} unplug50_p50_ms=${percentile(fifty.unplug, 50).toFixed(1)} vfreuse1_p50_ms=${percentile(one.reuse, 50).toFixed(1)} vfreuse50_p50_ms=${percentile(fifty.reuse, 50).toFixed(1)}`,
    );
  } finally {
    await probe.close();
    await agent?.stop();
    await sandbox.stop();
  }
}

await main();
