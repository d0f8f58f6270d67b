/**
 * The agent as a child process for the benchmarks: compiled once with tsconfig.build.json (as
 * production runs compiled JavaScript; tsx would add its compiler's memory to RSS figures), run
 * on the Node major the image ships with the image's `NODE_OPTIONS` (DESIGN §4: memory is
 * measured that way).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { pickFreePort, waitUntil } from '../../test/harness/index.js';

const PDEATHSIG_WRAPPER = '/usr/bin/setpriv';

/** Where the agent is compiled to for the run (inside node_modules so its imports resolve). */
export const BUILD_DIR = 'node_modules/.cache/ovn-plug-bench';

/**
 * Compiles src/ into {@link BUILD_DIR}. Type errors elsewhere in the tree do not stop the emit;
 * a missing cli.js does. Resolves with the path of cli.js.
 */
export async function compileAgent(log: (line: string) => void): Promise<string> {
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const tsc = spawn(
      process.execPath,
      [
        'node_modules/typescript/bin/tsc',
        ...['-p', 'tsconfig.build.json', '--outDir', BUILD_DIR],
        ...['--declaration', 'false', '--sourceMap', 'false'],
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    tsc.on('exit', () => resolve());
  });
  const cli = `${BUILD_DIR}/src/agent/cli.js`;
  await access(cli);
  log(`compiled the agent to ${BUILD_DIR} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return cli;
}

/** What the image runs the agent with, read from the Dockerfile. */
export interface ImageNodeSettings {
  /** Major of the `NODE_IMAGE` build argument's default (e.g. 20 for node:20-bookworm-slim). */
  readonly major: number;
  /** Flags of `NODE_OPTIONS` in the runtime stage's `ENV`. */
  readonly nodeOptions: readonly string[];
}

/** Parses the Node major and `NODE_OPTIONS` out of the project's Dockerfile text. */
export function parseImageNodeSettings(dockerfile: string): ImageNodeSettings {
  const image = /^ARG NODE_IMAGE=node:(\d+)/m.exec(dockerfile);
  if (image === null) throw new Error('Dockerfile: no "ARG NODE_IMAGE=node:<major>..." line');
  // ENV may continue over several lines with backslashes; NODE_OPTIONS is one of its pairs.
  const options = /NODE_OPTIONS=("([^"]*)"|(\S+))/.exec(dockerfile.replace(/\\\n/g, ' '));
  const value = options === null ? '' : (options[2] ?? options[3] ?? '');
  return { major: Number(image[1]), nodeOptions: value.split(/\s+/).filter((f) => f !== '') };
}

/** The Node binary and flags the agent process runs with, and how they were chosen. */
export interface AgentRuntime {
  readonly node: string;
  readonly flags: readonly string[];
  /** One line for the benchmark output. */
  readonly description: string;
}

/**
 * The image's Node release and NODE_OPTIONS: the binary `scripts/node-lts.sh path` gives (the
 * release the Dockerfile pins, fetched and cached on first use, as the tests' second pass does);
 * when that fails (offline), this process's own Node — the output says which.
 * `flagsOverride` (e.g. from `--agent-node-flag`) replaces NODE_OPTIONS' flags.
 */
export async function agentRuntime(flagsOverride?: readonly string[]): Promise<AgentRuntime> {
  const image = parseImageNodeSettings(await readFile('Dockerfile', 'utf8'));
  const flags = flagsOverride ?? image.nodeOptions;
  const pinned = await imageNode();
  const node = pinned.path ?? process.execPath;
  const version = pinned.path === undefined ? process.version : await nodeVersion(pinned.path);
  const major = Number(/^v(\d+)/.exec(version)?.[1]);
  const source =
    pinned.path !== undefined
      ? `the image's release, ${pinned.path}`
      : `the current node: scripts/node-lts.sh path failed: ${pinned.problem}`;
  const mismatch = major === image.major ? '' : ` — NOTE: the image ships Node ${image.major}`;
  return {
    node,
    flags,
    description: `agent runs on Node ${version} (${source}) with ${flags.length === 0 ? "Node's default flags" : flags.join(' ')}${mismatch}`,
  };
}

async function imageNode(): Promise<{ path?: string; problem?: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['scripts/node-lts.sh', 'path'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', (error) => resolve({ problem: error.message }));
    child.on('exit', (code) => {
      const path = out.trim();
      resolve(
        code === 0 && path !== '' ? { path } : { problem: err.trim() || `exit status ${String(code)}` },
      );
    });
  });
}

async function nodeVersion(node: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, ['--version'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('exit', () => resolve(out.trim()));
  });
}

export interface AgentProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** `http://127.0.0.1:<port>` of its --listen. */
  readonly url: string;
  stop(): Promise<void>;
}

export interface StartAgentOptions {
  readonly runtime: AgentRuntime;
  /** Path of cli.js (from {@link compileAgent}). */
  readonly entry: string;
  readonly ovsDb: string;
  readonly extraArgs?: readonly string[];
  /** stdout of the agent (its JSON log) goes here; default discarded. */
  readonly logFile?: string;
}

/** Starts `ovn-plug-agent run` with the dummy provider; resolves once /readyz answers 200. */
export async function startAgentProcess(options: StartAgentOptions): Promise<AgentProcess> {
  const extra = options.extraArgs ?? [];
  const port = await pickFreePort();
  const out = options.logFile === undefined ? 'ignore' : openSync(options.logFile, 'w');
  // setpriv execs the agent (same pid) with a parent-death signal: a benchmark killed half-way
  // must not leave an agent behind (the harness starts its servers the same way).
  const wrapper = existsSync(PDEATHSIG_WRAPPER) ? [PDEATHSIG_WRAPPER, '--pdeathsig', 'KILL', '--'] : [];
  const command = [...wrapper, options.runtime.node];
  const child = spawn(
    command[0] ?? options.runtime.node,
    [
      ...command.slice(1),
      ...options.runtime.flags,
      options.entry,
      `--ovs-db=${options.ovsDb}`,
      '--providers=dummy',
      `--listen=127.0.0.1:${port}`,
      ...(extra.some((a) => a.startsWith('--log-level=')) ? [] : ['--log-level=warn']),
      ...extra,
    ],
    { stdio: ['ignore', out, 'inherit'] },
  );
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await waitUntil(async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200, {
    description: 'agent ready',
    timeoutMs: 60_000,
    maxIntervalMs: 100,
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('agent process has no pid');
  return {
    child,
    pid,
    url,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A byte gauge of the agent's /metrics, in MiB. */
export async function metricMb(url: string, name: string): Promise<number> {
  const metrics = await (await fetch(`${url}/metrics`)).text();
  const match = new RegExp(`^${name} (\\d+)`, 'm').exec(metrics);
  if (match === null) throw new Error(`agent /metrics has no ${name}`);
  return Number(match[1]) / (1024 * 1024);
}

/** Ports of the agent's /status in `state`. */
export async function portsInState(url: string, state: string): Promise<number> {
  const status = (await (await fetch(`${url}/status`)).json()) as { ports: { state: string }[] };
  return status.ports.filter((p) => p.state === state).length;
}
