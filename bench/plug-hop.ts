/**
 * `npx tsx bench/plug-hop.ts` — the agent's own SB-update → OVS-commit time for one port on a node
 * that already has N plugged ports (DESIGN §4: ≤ 2 ms at 10,000), read from the servers' own
 * clocks: on a headless chassis (bench/support/headless.ts) the agent plugs N ports, then
 * `jsonrpc` debug logging is turned on in the SB and the node's OVS ovsdb-server and single ports
 * are added one at a time. Per port, from the logs (ms stamps, so each figure is ±1 ms; the
 * median over the singles is what to read):
 * - sb→req: the SB sends the agent's session the Port_Binding insert → the OVS server receives
 *   the agent's transact;
 * - req→commit: that request → the OVS server sends the commit's update back to the agent;
 * and the request's size as logged.
 *
 * Options: `--ports=N` (default 10000), `--singles=S` (default 20), `--gap-ms=G` between singles
 * (default 400; the hop must be shorter, or the singles overlap), `--agent-entry=<cli.js>` (a
 * build to run, see bench/plug.ts; default: compile this tree), `--cpu-prof-dir=DIR` (profile the
 * agent from a restart after the filling to its stop).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { waitUntil } from '../test/harness/index.js';
import {
  agentRuntime,
  compileAgent,
  median,
  portsInState,
  startAgentProcess,
  startHeadlessChassis,
} from './support/index.js';

const option = (name: string): string | undefined =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const N = Number(option('ports') ?? 10_000);
const SINGLES = Number(option('singles') ?? 20);
const GAP_MS = Number(option('gap-ms') ?? 400);
const BATCH = 2_000;

const LINE =
  /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\|\d+\|jsonrpc\|DBG\|[^:]+: (received|send) (request|notification|reply)/;

interface Logged {
  readonly timeMs: number;
  readonly direction: string;
  readonly kind: string;
  readonly text: string;
}

async function jsonrpcLines(dir: string): Promise<Logged[]> {
  const out: Logged[] = [];
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.log'))) {
    for (const text of (await readFile(join(dir, file), 'utf8')).split('\n')) {
      const m = LINE.exec(text);
      if (m !== null)
        out.push({ timeMs: Date.parse(m[1] ?? ''), direction: m[2] ?? '', kind: m[3] ?? '', text });
    }
  }
  return out;
}

function first(
  lines: readonly Logged[],
  direction: string,
  kind: string,
  needle: string,
): Logged | undefined {
  return lines.find((l) => l.direction === direction && l.kind === kind && l.text.includes(needle));
}

async function main(): Promise<void> {
  const entry = option('agent-entry') ?? (await compileAgent((l) => console.log(l)));
  const base = await agentRuntime();
  const profDir = option('cpu-prof-dir');
  // The agent is restarted with the profiler on once the ports are plugged (the profile then
  // covers its resync and the singles, not the filling).
  const profiled =
    profDir === undefined
      ? base
      : { ...base, flags: [...base.flags, '--cpu-prof', `--cpu-prof-dir=${profDir}`] };
  const node = await startHeadlessChassis('ovs-hop');
  try {
    let agent = await startAgentProcess({ runtime: base, entry, ovsDb: node.ovsRemote });
    try {
      const names = Array.from({ length: N }, (_, i) => `p${i}`);
      for (let i = 0; i < N; i += BATCH) await node.probe.addPorts(names.slice(i, i + BATCH), 'hv1');
      await waitUntil(async () => (await portsInState(agent.url, 'Plugged')) === N, {
        description: `the agent plugged ${N} ports`,
        timeoutMs: 900_000,
        maxIntervalMs: 1_000,
      });
      if (profDir !== undefined) {
        await agent.stop();
        agent = await startAgentProcess({ runtime: profiled, entry, ovsDb: node.ovsRemote });
        await waitUntil(async () => (await portsInState(agent.url, 'Plugged')) === N, {
          description: `the restarted agent shows ${N} ports plugged`,
          timeoutMs: 900_000,
          maxIntervalMs: 1_000,
        });
      }
      const sb = node.central.sb;
      if (sb === undefined) throw new Error('no standalone SB server');
      await sb.appctl('vlog/set', 'jsonrpc:file:dbg');
      await node.ovsDb.appctl('vlog/set', 'jsonrpc:file:dbg');
      await new Promise((r) => setTimeout(r, 500));
      for (let i = 0; i < SINGLES; i++) {
        await node.probe.addPorts([`hop${i}x`], 'hv1');
        // Not polled (a status read of N ports is work for the agent): the hop takes far less.
        await new Promise((r) => setTimeout(r, GAP_MS));
      }
      await waitUntil(async () => (await portsInState(agent.url, 'Plugged')) === N + SINGLES, {
        description: `the agent plugged the ${SINGLES} single ports`,
        timeoutMs: 120_000,
        maxIntervalMs: 1_000,
      });
      await sb.appctl('vlog/set', 'jsonrpc:file:info');
      await node.ovsDb.appctl('vlog/set', 'jsonrpc:file:info');
      const sbLines = await jsonrpcLines(sb.dir);
      const ovsLines = await jsonrpcLines(node.ovsDb.dir);
      const hop: number[] = [];
      const commit: number[] = [];
      const sizes: number[] = [];
      for (let i = 0; i < SINGLES; i++) {
        const needle = `"hop${i}x"`;
        // The notification to the agent's session: the SB serves its monitors one after the
        // other (ovn-northd's first, tagged "monid"; the probe's carries only `logical_port` and
        // `up`), and at 10,000 ports the sessions before the agent's take milliseconds.
        const sbSent = sbLines.find(
          (l) =>
            l.direction === 'send' &&
            l.kind === 'notification' &&
            l.text.includes(needle) &&
            l.text.includes('vif-plug-type') &&
            !l.text.includes('"monid"'),
        );
        const request = first(ovsLines, 'received', 'request', needle);
        const update = first(ovsLines, 'send', 'notification', needle);
        if (sbSent === undefined || request === undefined || update === undefined) {
          console.log(`hop${i}x: not found in the logs`);
          continue;
        }
        hop.push(request.timeMs - sbSent.timeMs);
        commit.push(update.timeMs - request.timeMs);
        sizes.push(request.text.length);
      }
      const show = (xs: number[]): string =>
        `median ${median(xs).toFixed(1)} ms (mean ${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2)}, min ${Math.min(...xs)}, max ${Math.max(...xs)})`;
      console.log(`agent: ${entry}`);
      console.log(
        `${N} plugged ports, ${hop.length} singles; transact request ~${median(sizes)} bytes as logged`,
      );
      console.log(`sb→req ${show(hop)}`);
      console.log(`req→commit ${show(commit)}`);
      console.log(`sb→commit ${show(hop.map((h, i) => h + (commit[i] ?? 0)))}`);
    } finally {
      await agent.stop();
    }
  } finally {
    await node.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
