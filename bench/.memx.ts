// scratch: RSS breakdown of the agent, idle and at N ports (not committed)
import { readFile } from 'node:fs/promises';
import { agentRuntime, BUILD_DIR, startAgentProcess, startHeadlessChassis } from './support/index.js';
const N = Number(process.argv[2] ?? 0);
const flags = process.argv.slice(3);
const rt = await agentRuntime(flags.length ? (flags[0] === 'none' ? [] : flags) : undefined);
console.log(rt.description);
const chassis = await startHeadlessChassis('memx');
const agent = await startAgentProcess({ runtime: rt, entry: `${BUILD_DIR}/src/agent/cli.js`, ovsDb: chassis.ovsRemote, extraArgs: process.env.EXTRA ? process.env.EXTRA.split(' ') : [] });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function show(label: string) {
  const roll = await readFile(`/proc/${agent.pid}/smaps_rollup`, 'utf8');
  const status = await readFile(`/proc/${agent.pid}/status`, 'utf8');
  const pick = (re: RegExp, t: string) => re.exec(t)?.[1];
  const m = await (await fetch(`${agent.url}/metrics`)).text();
  const g = (n: string) => (Number(new RegExp(`^${n} (\\d+)`, 'm').exec(m)?.[1]) / 1048576).toFixed(1);
  console.log(`${label}: rss ${Number(pick(/VmRSS:\s+(\d+)/, status)) / 1024} MB anon ${Number(pick(/Anonymous:\s+(\d+)/, roll)) / 1024} threads ${pick(/Threads:\s+(\d+)/, status)} heapTotal ${g('ovn_plug_nodejs_heap_size_total_bytes')} heapUsed ${g('ovn_plug_nodejs_heap_size_used_bytes')} external ${g('ovn_plug_nodejs_external_memory_bytes')}`);
}
await sleep(3000); await show('idle');
if (N > 0) {
  for (let b = 0; b < N; b += 1000) {
    const names = Array.from({ length: Math.min(1000, N - b) }, (_, i) => `p${b + i}`);
    await chassis.probe.addPorts(names, 'hv1', b);
  }
  const { portsInState } = await import('./support/index.js');
  const t0 = Date.now();
  while ((await portsInState(agent.url, 'Plugged')) < N && Date.now() - t0 < 300000) await sleep(1000);
  await show(`plugged ${N}`);
  await sleep(8000); await show(`+8s`);
  // single additions
  for (let i = 0; i < 10; i++) { await chassis.probe.addPorts([`s${i}`], 'hv1', N + i); await sleep(300); }
  await sleep(1000); await show('after 10 singles');
  await sleep(8000); await show('+8s');
}
if (process.env.SMAPS) {
  const smaps = await readFile(`/proc/${agent.pid}/smaps`, 'utf8');
  const regions = smaps.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/).map((r) => ({ head: r.split('\n')[0], rss: Number(/\nRss:\s+(\d+)/.exec(r)?.[1] ?? 0) })).sort((a, b) => b.rss - a.rss).slice(0, 25);
  for (const r of regions) console.log(String(r.rss).padStart(8), r.head);
}
await agent.stop(); await chassis.stop();
