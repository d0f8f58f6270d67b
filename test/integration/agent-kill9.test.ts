/**
 * DESIGN §5, "agent kill -9 mid-transaction": the real `ovn-plug-agent` process is SIGKILLed
 * while it plugs a large batch, and while it is down the CMS changes what it wants. A restarted
 * agent must converge with nothing lost, nothing plugged twice, nothing wrongly unplugged and no
 * churn of the interfaces that were already there. Real sandbox: OVN central, ovs-vswitchd
 * (dummy datapath) and an unmodified ovn-controller, which sets Port_Binding.up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  asStringMap,
  parseCtlTable,
  pickFreePort,
  startSandbox,
  waitUntil,
  type Sandbox,
} from '../harness/index.js';

let sandbox: Sandbox;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  sandbox = await startSandbox({ chassis: ['hv1'] });
}, 60_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await sandbox?.stop();
});

interface PortStatus {
  readonly logicalPort: string;
  readonly state: string;
}
interface StatusBody {
  readonly ports: readonly PortStatus[];
  readonly heldRemovals?: { readonly count: number; readonly untilMs: number };
}
interface LogLine {
  readonly msg: string;
  readonly logicalPort?: string;
}

interface AgentProcess {
  readonly proc: ChildProcess;
  readonly url: string;
  /** Resolves with the signal that ended the process (null for a plain exit). */
  readonly exited: Promise<NodeJS.Signals | null>;
  /** The JSON log lines written so far. */
  lines(): LogLine[];
  /** GET /status, or undefined while the agent does not answer. */
  status(): Promise<StatusBody | undefined>;
  kill9(): Promise<void>;
}

const PDEATHSIG_WRAPPER = '/usr/bin/setpriv';

/** Starts `ovn-plug-agent run` as a child process and waits until /readyz answers 200. */
async function startAgentProcess(extra: readonly string[]): Promise<AgentProcess> {
  const port = await pickFreePort();
  const url = `http://127.0.0.1:${port}`;
  const argv = [
    process.execPath,
    '--import',
    'tsx',
    'src/agent/cli.ts',
    'run',
    `--ovs-db=${sandbox.node('hv1').ovs.dbRemote}`,
    '--providers=dummy',
    `--listen=127.0.0.1:${port}`,
    '--log-level=info',
    ...extra,
  ];
  // The wrapper kills the agent with this test process should vitest itself die.
  const [command, ...args] = existsSync(PDEATHSIG_WRAPPER)
    ? [PDEATHSIG_WRAPPER, '--pdeathsig', 'KILL', '--', ...argv]
    : argv;
  if (command === undefined) throw new Error('empty command line');
  const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  let out = '';
  let err = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  // 'close', not 'exit': it comes after the last output, so the log of a killed agent is complete.
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    proc.on('close', (_code, signal) => {
      children.delete(proc);
      resolve(signal);
    }),
  );
  const agent: AgentProcess = {
    proc,
    url,
    exited,
    lines: () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as LogLine),
    status: async () => {
      const response = await fetch(`${url}/status`).catch(() => undefined);
      return response?.status === 200 ? ((await response.json()) as StatusBody) : undefined;
    },
    kill9: async () => {
      proc.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
    },
  };
  await waitUntil(
    async () => {
      if (proc.exitCode !== null) throw new Error(`agent exited ${proc.exitCode}: ${err.slice(-2000)}`);
      return (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200;
    },
    { description: `agent at ${url} ready`, timeoutMs: 30_000, maxIntervalMs: 100 },
  );
  return agent;
}

interface IfaceRow {
  readonly uuid: string;
  readonly name: string;
  readonly ifaceId: string | undefined;
}

async function interfaceRows(): Promise<IfaceRow[]> {
  return (await sandbox.node('hv1').ovs.interfaces()).map((row) => ({
    uuid: String(row['_uuid']),
    name: String(row['name']),
    ifaceId: asStringMap(row['external_ids'])['iface-id'],
  }));
}

/** `iface-id -> Interface UUIDs` (a list, so duplicates show). */
async function uuidsByPort(): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const row of await interfaceRows()) {
    if (row.ifaceId === undefined) continue;
    out.set(row.ifaceId, [...(out.get(row.ifaceId) ?? []), row.uuid]);
  }
  return out;
}

/** Adds (or deletes) many logical ports in ONE Northbound transaction. */
async function addPorts(names: readonly string[]): Promise<void> {
  const args = ['--may-exist', 'ls-add', 'ls0'];
  for (const name of names) {
    args.push('--', 'lsp-add', 'ls0', name);
    args.push('--', 'lsp-set-options', name, 'requested-chassis=hv1', 'vif-plug-type=dummy');
  }
  await sandbox.central.nbctl(...args);
}

async function deletePorts(names: readonly string[]): Promise<void> {
  await sandbox.central.nbctl(...names.flatMap((name, i) => (i === 0 ? [] : ['--']).concat('lsp-del', name)));
}

/** `logical_port -> up` of every Port_Binding. */
async function bindingsUp(): Promise<Map<string, boolean>> {
  const rows = parseCtlTable(
    await sandbox.central.sbctl(
      '--format=json',
      '--data=json',
      '--columns=logical_port,up',
      'list',
      'Port_Binding',
    ),
  );
  return new Map(rows.map((r) => [String(r['logical_port']), r['up'] === true]));
}

async function waitAllUp(ports: readonly string[], timeoutMs = 25_000): Promise<void> {
  await waitUntil(
    async () => {
      const up = await bindingsUp();
      return ports.every((p) => up.get(p) === true);
    },
    { description: `Port_Binding.up for ${ports.length} ports`, timeoutMs, maxIntervalMs: 200 },
  );
}

async function waitAllBound(
  agent: AgentProcess,
  ports: readonly string[],
  timeoutMs = 25_000,
): Promise<void> {
  await waitUntil(
    async () => {
      const status = await agent.status();
      if (status === undefined) return false;
      const state = new Map(status.ports.map((p) => [p.logicalPort, p.state]));
      return ports.every((p) => state.get(p) === 'Bound');
    },
    { description: `${ports.length} ports Bound in /status`, timeoutMs, maxIntervalMs: 200 },
  );
}

/** Exactly one Interface per port and no Interface name used twice on the bridge. */
async function expectExactlyOneInterfaceEach(ports: readonly string[]): Promise<Map<string, string[]>> {
  const rows = await interfaceRows();
  const names = rows.map((r) => r.name);
  expect(names.length - new Set(names).size, 'duplicate interface names').toBe(0);
  const byPort = await uuidsByPort();
  const wrong = ports.filter((p) => byPort.get(p)?.length !== 1);
  expect(wrong, 'ports without exactly one interface').toEqual([]);
  return byPort;
}

function portNames(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(3, '0')}`);
}

const loggedPorts = (agent: AgentProcess, msg: string): string[] =>
  agent
    .lines()
    .filter((l) => l.msg === msg && l.logicalPort !== undefined)
    .map((l) => l.logicalPort ?? '');

// Ports that exist across the whole file, so every kill has plugged-and-stable ports to churn.
const all: string[] = [];

describe('agent kill -9 while down and the CMS changes things (DESIGN §5)', () => {
  it('after a restart: deleted ports unplugged, new ones plugged, untouched ones keep their interfaces', async () => {
    const initial = portNames('k2s', 10);
    await addPorts(initial);
    // Grace 1.5 s instead of the default 60 s: ports deleted while the agent was down are found
    // unwanted at its start, which the guard (DESIGN §3.4 case 5) holds whatever their number.
    // With the default grace the removal would go ahead only after 60 s, beyond this file's budget.
    const flags = ['--mass-removal-grace=1500ms'];
    const first = await startAgentProcess(flags);
    await waitAllUp(initial);
    await waitAllBound(first, initial);
    const before = await expectExactlyOneInterfaceEach(initial);

    await first.kill9();
    const deleted = initial.slice(0, 6);
    const untouched = initial.slice(6);
    const added = portNames('k2n', 4);
    await deletePorts(deleted);
    await addPorts(added);
    await sandbox.central.nbctlWaitSb('sync');

    const next = await startAgentProcess(flags);
    const held = await waitUntil(async () => (await next.status())?.heldRemovals, {
      description: 'the removal of the 6 ports deleted while the agent was down held',
      maxIntervalMs: 20,
    });
    expect(held.count).toBe(deleted.length);
    // While held, nothing is unplugged.
    expect([...(await uuidsByPort()).keys()].filter((p) => deleted.includes(p)).sort()).toEqual(deleted);
    await waitUntil(
      async () => {
        const now = await uuidsByPort();
        return deleted.every((p) => !now.has(p));
      },
      { description: 'deleted ports unplugged after the grace', timeoutMs: 15_000 },
    );
    await waitAllUp([...untouched, ...added]);
    await waitAllBound(next, [...untouched, ...added]);
    const after = await expectExactlyOneInterfaceEach([...untouched, ...added]);
    for (const p of untouched) expect(after.get(p), p).toEqual(before.get(p));
    expect(loggedPorts(next, 'unplugged port').sort()).toEqual(deleted);
    expect(loggedPorts(next, 'plugged port').sort()).toEqual(added);
    expect(loggedPorts(next, 'replugged port: provider names another interface')).toEqual([]);
    expect((await next.status())?.heldRemovals).toBeUndefined();
    all.push(...untouched, ...added);
    await next.kill9();
  }, 40_000);
});

/**
 * Where the kill landed relative to the plug transaction's commit:
 * - `beforeCommit`: no interface of the batch ever appeared;
 * - `committedUnacknowledged`: the OVS DB committed it, but the agent died before it logged the reply;
 * - `acknowledged`: the agent had the reply (it logged "plugged port") before it died.
 */
type KillLanding = 'beforeCommit' | 'committedUnacknowledged' | 'acknowledged';
const landings: { round: string; landing: KillLanding; pluggedAtKill: number }[] = [];

describe('agent kill -9 mid-transaction (DESIGN §5)', () => {
  afterAll(() => {
    console.info(`kill -9 landings: ${JSON.stringify(landings)}`);
  });

  // Rounds 1 and 2 race the kill against the commit. Round 3 pauses the OVS ovsdb-server, so the
  // transaction is surely sent and can commit only after the agent is dead. Round 4 also kills
  // that paused ovsdb-server, so the sent transaction is lost: the one landing the races above
  // do not produce here.
  const rounds = [
    { prefix: 'k1a', ovsdbFault: 'none' },
    { prefix: 'k1b', ovsdbFault: 'none' },
    { prefix: 'k1c', ovsdbFault: 'pause' },
    { prefix: 'k1d', ovsdbFault: 'pauseThenKill' },
  ] as const;
  for (const [index, { prefix, ovsdbFault }] of rounds.entries()) {
    it(`round ${index + 1}: 200 ports in one NB transaction, SIGKILL with the plug in flight (OVS DB fault: ${ovsdbFault})`, async () => {
      const batch = portNames(prefix, 200);
      // share=1 never holds a removal round: a wrong unplug by the restarted agent must show up
      // at once, not be masked by the guard for the length of this test.
      const flags = ['--mass-removal-share=1', '--mass-removal-grace=0s'];
      const first = await startAgentProcess(flags);
      await waitAllBound(first, all);
      const stable = await uuidsByPort();
      const ovsdb = sandbox.node('hv1').ovs.ovsdb;
      if (ovsdbFault !== 'none') ovsdb.pause();
      try {
        await addPorts(batch);
        await waitUntil(async () => (await first.status())?.ports.some((p) => p.state === 'Plugging'), {
          description: 'the first port Plugging (transaction in flight)',
          timeoutMs: 20_000,
          maxIntervalMs: 5,
        });
        await first.kill9();
        if (ovsdbFault === 'pauseThenKill') {
          await ovsdb.kill9();
          await ovsdb.restart();
        }
      } finally {
        if (ovsdbFault === 'pause') ovsdb.resume();
      }
      const atKill = await uuidsByPort();
      const pluggedAtKill = batch.filter((p) => atKill.has(p)).length;
      const acknowledged = loggedPorts(first, 'plugged port').length > 0;
      const landing: KillLanding = acknowledged
        ? 'acknowledged'
        : pluggedAtKill > 0
          ? 'committedUnacknowledged'
          : 'beforeCommit';
      landings.push({ round: prefix, landing, pluggedAtKill });
      if (ovsdbFault !== 'none') expect(landing).not.toBe('acknowledged');
      if (ovsdbFault === 'pauseThenKill') expect(landing).toBe('beforeCommit');

      const next = await startAgentProcess(flags);
      const wanted = [...all, ...batch];
      await waitAllBound(next, wanted, 30_000);
      await waitAllUp(wanted, 30_000);
      const after = await expectExactlyOneInterfaceEach(wanted);
      // No churn: every interface there at the kill (older ones and any of the batch) is kept.
      for (const [port, uuids] of [...stable, ...atKill]) expect(after.get(port), port).toEqual(uuids);
      expect(loggedPorts(next, 'unplugged port')).toEqual([]);
      expect(loggedPorts(next, 'replugged port: provider names another interface')).toEqual([]);
      // The restarted agent plugged only ports the dead one had not committed.
      const replanned = loggedPorts(next, 'plugged port');
      expect(replanned.filter((p) => atKill.has(p))).toEqual([]);
      expect(new Set(replanned).size).toBe(replanned.length);
      if (ovsdbFault === 'pauseThenKill') expect(replanned.sort()).toEqual(batch);
      all.push(...batch);
      await next.kill9();
    }, 45_000);
  }
});
