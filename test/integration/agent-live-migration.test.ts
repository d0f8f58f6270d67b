/**
 * Live migration end to end, as Neutron drives it (DESIGN §3.4: `requested_additional_chassis`
 * plugs the destination before activation), on a real sandbox with two chassis — each its own
 * ovsdb-server, ovs-vswitchd (dummy datapath) and unmodified ovn-controller — and an agent on each
 * at DEFAULT flags.
 *
 * Neutron starts a migration with `requested-chassis=<src>,<dst>` and `activation-strategy=rarp`,
 * completes it with `requested-chassis=<dst>` and rolls it back with `requested-chassis=<src>`.
 * Every step asserts the OVS rows on both chassis and the SB Port_Binding's `chassis`,
 * `additional_chassis` and `up`. A failing wait prints both agents' /status, both nodes' rows and
 * the SB row first, so an intermittent failure leaves its cause in the log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommandLine, startAgent, type AgentHandle, type PortStatus } from '../../src/agent/index.js';
import {
  asStringMap,
  getPortBinding,
  interfacesForLogicalPort,
  lspAdd,
  startSandbox,
  waitUntil,
  type CtlRow,
  type Sandbox,
} from '../harness/index.js';

const SRC = 'hv-src';
const DST = 'hv-dst';
/** The test's bound on "at once" for an unplug (DESIGN §3.4: p50 ≤ 1 s from the NB commit). */
const AT_ONCE_MS = 2_000;

let sandbox: Sandbox;
const agents = new Map<string, AgentHandle>();

beforeAll(async () => {
  sandbox = await startSandbox({ chassis: [SRC, DST] });
  for (const node of sandbox.nodes) {
    const parsed = parseCommandLine(
      [`--ovs-db=${node.ovs.dbRemote}`, '--providers=dummy', '--listen=127.0.0.1:0', '--log-level=silent'],
      {},
    );
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    agents.set(node.chassis, await startAgent(parsed.config));
  }
}, 60_000);

afterAll(async () => {
  for (const agent of agents.values()) await agent.stop();
  await sandbox?.stop();
});

function agent(chassis: string): AgentHandle {
  const a = agents.get(chassis);
  if (a === undefined) throw new Error(`no agent on ${chassis}`);
  return a;
}

function portState(chassis: string, logicalPort: string): PortStatus | undefined {
  return agent(chassis)
    .status()
    .ports.find((p) => p.logicalPort === logicalPort);
}

async function ifaces(chassis: string, logicalPort: string): Promise<CtlRow[]> {
  return interfacesForLogicalPort(sandbox.node(chassis).ovs, logicalPort);
}

/** Chassis name of an SB Chassis UUID (`chassis`, `additional_chassis` columns). */
async function chassisNames(value: unknown): Promise<string[]> {
  const uuids = Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
  const names: string[] = [];
  for (const uuid of uuids)
    names.push(
      (await sandbox.central.sbctl('--bare', '--columns=name', 'list', 'Chassis', String(uuid))).trim(),
    );
  return names.sort();
}

interface BindingView {
  readonly chassis: string[];
  readonly additionalChassis: string[];
  readonly up: boolean;
}

async function binding(logicalPort: string): Promise<BindingView> {
  const row = await getPortBinding(sandbox.central, logicalPort);
  return {
    chassis: await chassisNames(row?.['chassis']),
    additionalChassis: await chassisNames(row?.['additional_chassis']),
    up: row?.['up'] === true,
  };
}

/** Everything the agents, both nodes and the SB say about `logicalPort`. */
async function snapshot(logicalPort: string): Promise<string> {
  const out: Record<string, unknown> = { sb: await getPortBinding(sandbox.central, logicalPort) };
  for (const chassis of [SRC, DST]) {
    const a = agent(chassis);
    const body: unknown = await fetch(`${a.url ?? ''}/status`)
      .then((r) => r.json())
      .catch((e: unknown) => String(e));
    out[chassis] = { status: body, ovs: await ifaces(chassis, logicalPort) };
  }
  return JSON.stringify(out, null, 1);
}

async function orDump<T>(logicalPort: string, what: () => Promise<T>): Promise<T> {
  try {
    return await what();
  } catch (error) {
    console.error(`live migration: state of ${logicalPort} at failure:\n${await snapshot(logicalPort)}`);
    throw error;
  }
}

/** The one interface of `logicalPort` on `chassis`, marked by the agent; waits for it. */
function waitPlugged(chassis: string, logicalPort: string): Promise<CtlRow> {
  return waitUntil(
    async () => {
      const rows = await ifaces(chassis, logicalPort);
      const row = rows[0];
      return rows.length === 1 &&
        row !== undefined &&
        asStringMap(row['external_ids'])['ovn-plug-agent'] === 'dummy' &&
        typeof row['ofport'] === 'number' &&
        row['ofport'] > 0
        ? row
        : undefined;
    },
    { description: `${logicalPort} plugged on ${chassis}`, timeoutMs: 20_000, maxIntervalMs: 50 },
  );
}

function waitState(chassis: string, logicalPort: string, state: string): Promise<PortStatus> {
  return waitUntil(
    () => {
      const p = portState(chassis, logicalPort);
      return p?.state === state ? p : undefined;
    },
    { description: `${logicalPort} ${state} on ${chassis}`, timeoutMs: 20_000, maxIntervalMs: 50 },
  );
}

function waitBinding(logicalPort: string, want: BindingView): Promise<BindingView> {
  return waitUntil(
    async () => {
      const b = await binding(logicalPort);
      return JSON.stringify(b) === JSON.stringify(want) ? b : undefined;
    },
    {
      description: `${logicalPort} binding ${JSON.stringify(want)}`,
      timeoutMs: 20_000,
      maxIntervalMs: 100,
    },
  );
}

/** Milliseconds from now until `chassis` has no interface for `logicalPort`, within {@link AT_ONCE_MS}. */
async function unpluggedWithin(chassis: string, logicalPort: string, sinceMs: number): Promise<number> {
  await waitUntil(async () => (await ifaces(chassis, logicalPort)).length === 0 || undefined, {
    description: `${logicalPort} unplugged on ${chassis} within ${AT_ONCE_MS} ms`,
    timeoutMs: AT_ONCE_MS - (Date.now() - sinceMs),
    maxIntervalMs: 25,
  });
  return Date.now() - sinceMs;
}

/** Creates `logicalPort` on the source, waits until it is Bound there and returns its interface. */
async function vmOnSource(logicalPort: string, mac: string): Promise<CtlRow> {
  await lspAdd(sandbox.central, logicalPort, {
    options: { 'requested-chassis': SRC, 'vif-plug-type': 'dummy' },
  });
  await sandbox.central.nbctl('lsp-set-addresses', logicalPort, mac);
  return orDump(logicalPort, async () => {
    const row = await waitPlugged(SRC, logicalPort);
    await waitState(SRC, logicalPort, 'Bound');
    await waitBinding(logicalPort, { chassis: [SRC], additionalChassis: [], up: true });
    return row;
  });
}

/** Neutron's start of a migration: the destination is plugged before activation, the source kept. */
async function startMigration(logicalPort: string, onSource: CtlRow): Promise<CtlRow> {
  await sandbox.central.nbctlWaitSb(
    'lsp-set-options',
    logicalPort,
    `requested-chassis=${SRC},${DST}`,
    'activation-strategy=rarp',
    'vif-plug-type=dummy',
  );
  return orDump(logicalPort, async () => {
    const onDestination = await waitPlugged(DST, logicalPort);
    await waitBinding(logicalPort, { chassis: [SRC], additionalChassis: [DST], up: true });
    // The source keeps its port untouched while the destination is prepared.
    const source = await ifaces(SRC, logicalPort);
    expect(source.map((r) => r['_uuid'])).toEqual([onSource['_uuid']]);
    expect(portState(SRC, logicalPort)?.state).toBe('Bound');
    expect(portState(DST, logicalPort)?.state).toMatch(/^(Plugged|Bound)$/);
    return onDestination;
  });
}

describe('live migration with requested-chassis=src,dst (Neutron, activation-strategy=rarp)', () => {
  it('completed (requested-chassis=dst): the source unplugs at once, the destination keeps its interface', async () => {
    const port = 'lm-vm1';
    const onSource = await vmOnSource(port, 'f0:00:00:00:07:01 10.0.7.1');
    const onDestination = await startMigration(port, onSource);
    const destinationTxns = agent(DST).reconciler.stats.transactions;

    const committed = Date.now();
    await sandbox.central.nbctl('lsp-set-options', port, `requested-chassis=${DST}`, 'vif-plug-type=dummy');
    await orDump(port, async () => {
      // DEFAULT flags: a CMS move within a session goes at once (DESIGN §3.4 case 1).
      const ms = await unpluggedWithin(SRC, port, committed);
      console.log(`live migration completed: source unplugged ${ms} ms after the NB commit`);
      await waitBinding(port, { chassis: [DST], additionalChassis: [], up: true });
      await waitState(DST, port, 'Bound');
    });
    // Same Interface row on the destination: activated in place, never replugged.
    const after = await ifaces(DST, port);
    expect(after.map((r) => r['_uuid'])).toEqual([onDestination['_uuid']]);
    // Not even an update: activation changes nothing the destination agent writes.
    expect(agent(DST).reconciler.stats.transactions).toBe(destinationTxns);
    expect(portState(SRC, port)).toBeUndefined();
    expect(await ifaces(SRC, port)).toEqual([]);
  });

  it('rolled back (requested-chassis=src): the destination unplugs at once, the source keeps its interface', async () => {
    const port = 'lm-vm2';
    const onSource = await vmOnSource(port, 'f0:00:00:00:07:02 10.0.7.2');
    await startMigration(port, onSource);
    const sourceTxns = agent(SRC).reconciler.stats.transactions;

    const committed = Date.now();
    await sandbox.central.nbctl('lsp-set-options', port, `requested-chassis=${SRC}`, 'vif-plug-type=dummy');
    await orDump(port, async () => {
      const ms = await unpluggedWithin(DST, port, committed);
      console.log(`live migration rolled back: destination unplugged ${ms} ms after the NB commit`);
      await waitBinding(port, { chassis: [SRC], additionalChassis: [], up: true });
    });
    const after = await ifaces(SRC, port);
    expect(after.map((r) => r['_uuid'])).toEqual([onSource['_uuid']]);
    expect(agent(SRC).reconciler.stats.transactions).toBe(sourceTxns);
    expect(portState(SRC, port)?.state).toBe('Bound');
    expect(portState(DST, port)).toBeUndefined();
  });
});
