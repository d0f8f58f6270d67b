/**
 * `npm run bench:kube-client` — what `@kubernetes/client-node` would cost the agent in memory,
 * against the agent's own narrow client (src/agent/kube, ADR 0070), on the same calls.
 *
 * Each figure comes from a fresh child process (bench/kube-client-child.ts, compiled, run with
 * `node --max-semi-space-size=1 --expose-gc` as docs/operations.md recommends for the agent),
 * settled (forced GCs and a pause) before it reads `process.memoryUsage()`. Cost = the median of
 * a client's processes minus the median of empty processes (`none`), per phase:
 * - `loaded`: module imported, kubeconfig read, API objects built;
 * - `called`: after ROUNDS rounds of the agent's calls against a real kube-apiserver (GET Node,
 *   PATCH Node status, POST PortPlug, PATCH its status, LIST PortPlugs by label, DELETE it, POST
 *   Event).
 *
 * `@kubernetes/client-node` is installed outside the repository (ADR 0070): bench/kube-client-node/
 * pins every major worth measuring with a lockfile; this program runs `npm ci` of it into
 * `$OVN_PLUG_AGENT_CACHE/bench-kube-client-node/<lock hash>` (default `~/.cache/ovn-plug-agent`)
 * when missing. Majors that do not load on this Node (2.x needs `zlib.zstd*`, Node ≥ 22.15) are
 * reported and skipped; the decision uses the newest major that loads.
 *
 * Options: `--rounds=N` (default 20), `--repeat=N` processes per client (default 5),
 * `--no-server` (loaded phase only, no kube-apiserver needed).
 * The last line is exactly:
 *   kube-client node=<version> client_node=<version> client_node_rss_mb=<x> narrow_rss_mb=<y>
 *   client_node_heap_mb=<x> narrow_heap_mb=<y> decision=<keep-narrow|adopt-client-node>
 * (on one line; the `called` phase's costs, or `loaded` with `--no-server`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as zlib from 'node:zlib';
import { startKubeApiServer, type KubeApiServer } from '../test/harness/kube/index.js';

const REPO = resolve(import.meta.dirname, '..');
const DEPS_DIR = join(REPO, 'bench/kube-client-node');
/** Inside node_modules, so the compiled src/ resolves its own dependencies (yaml). */
const BUILD_DIR = join(REPO, 'node_modules/.cache/ovn-plug-bench-kube-client');
const NODE_FLAGS = ['--max-semi-space-size=1', '--expose-gc'];
const BENCH_NODE = 'bench-node';
/** The rule of ADR 0070: adopt client-node only if it costs at most this much RSS. */
const ADOPT_LIMIT_MB = 20;

function option(name: string, fallback: number): number {
  const given = process.argv.find((arg) => arg.startsWith(`--${name}=`));
  if (given === undefined) return fallback;
  const value = Number(given.slice(name.length + 3));
  if (!Number.isInteger(value) || value < 0)
    throw new Error(`--${name} must be a whole number, got "${given}"`);
  return value;
}

const ROUNDS = option('rounds', 20);
const REPEAT = Math.max(1, option('repeat', 5));
const WITH_SERVER = !process.argv.includes('--no-server');

const mb = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

function run(command: string, args: readonly string[], cwd: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolvePromise() : reject(new Error(`${command} ${args.join(' ')} exited ${code}`)),
    );
  });
}

interface InstalledMajor {
  /** The alias in bench/kube-client-node/package.json, e.g. `client-node-1`. */
  readonly alias: string;
  readonly version: string;
  readonly entry: string;
  /** Why it does not load on this Node; absent when it does. */
  readonly loadError?: string;
}

/** `npm ci` of bench/kube-client-node into the cache (once per lockfile), then probes each major. */
async function installClientNode(): Promise<InstalledMajor[]> {
  const lock = await readFile(join(DEPS_DIR, 'package-lock.json'));
  const hash = createHash('sha256').update(lock).digest('hex').slice(0, 12);
  const cache = process.env['OVN_PLUG_AGENT_CACHE'] ?? join(homedir(), '.cache/ovn-plug-agent');
  const dir = join(cache, 'bench-kube-client-node', hash);
  const manifest = JSON.parse(await readFile(join(DEPS_DIR, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  const installed = await access(join(dir, 'node_modules/.package-lock.json')).then(
    () => true,
    () => false,
  );
  if (!installed) {
    console.log(`installing @kubernetes/client-node (bench only) into ${dir}`);
    await mkdir(dir, { recursive: true });
    await copyFile(join(DEPS_DIR, 'package.json'), join(dir, 'package.json'));
    await copyFile(join(DEPS_DIR, 'package-lock.json'), join(dir, 'package-lock.json'));
    await run('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], dir);
  }
  const majors: InstalledMajor[] = [];
  for (const alias of Object.keys(manifest.dependencies).sort().reverse()) {
    const packageDir = join(dir, 'node_modules', alias);
    const packageJson = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8')) as {
      version: string;
      main: string;
    };
    const entry = join(packageDir, packageJson.main);
    const probe = spawnSync(
      process.execPath,
      [
        ...NODE_FLAGS,
        '--input-type=module',
        '-e',
        `await import(${JSON.stringify(pathToFileURL(entry).href)})`,
      ],
      { encoding: 'utf8' },
    );
    const zstdNote =
      typeof (zlib as Record<string, unknown>)['zstdCompress'] === 'function'
        ? ''
        : '; this Node has no zlib zstd';
    const loadError =
      probe.status === 0
        ? undefined
        : `${(probe.stderr.split('\n').find((line) => /Error/.test(line)) ?? `exit ${probe.status}`).trim()}${zstdNote}`;
    majors.push({
      alias,
      version: packageJson.version,
      entry,
      ...(loadError !== undefined && { loadError }),
    });
  }
  return majors;
}

/** Compiles src/ and the child with the build config (production runs compiled JavaScript). */
async function compile(): Promise<string> {
  await mkdir(BUILD_DIR, { recursive: true });
  const config = join(BUILD_DIR, 'tsconfig.json');
  await writeFile(
    config,
    JSON.stringify({
      extends: join(REPO, 'tsconfig.build.json'),
      compilerOptions: {
        outDir: BUILD_DIR,
        rootDir: REPO,
        declaration: false,
        sourceMap: false,
        noEmit: false,
      },
      include: [join(REPO, 'src'), join(REPO, 'bench/kube-client-child.ts')],
      exclude: [join(REPO, 'src/**/*.test.ts'), join(REPO, 'src/**/testing/**')],
    }),
  );
  await run(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', config], REPO);
  return join(BUILD_DIR, 'bench/kube-client-child.js');
}

interface PhaseFigures {
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly externalBytes: number;
}

interface ChildResult {
  readonly loaded: PhaseFigures;
  readonly called: PhaseFigures;
}

function measure(child: string, args: readonly string[]): Promise<ChildResult> {
  return new Promise((resolvePromise, reject) => {
    const process_ = spawn(process.execPath, [...NODE_FLAGS, child, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    process_.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    process_.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    process_.on('error', reject);
    process_.on('exit', (code) => {
      if (code !== 0) {
        reject(new Error(`measuring ${args[0]} exited ${code}: ${err.trim()}`));
        return;
      }
      resolvePromise(JSON.parse(out.trim().split('\n').pop() ?? '') as ChildResult);
    });
  });
}

async function prepareServer(): Promise<{ kube: KubeApiServer; kubeconfig: string }> {
  const kube = await startKubeApiServer();
  await kube.kubectl('apply', '-f', join(REPO, 'deploy/crds/portplugs.ovn-plug-agent.io.yaml'));
  await kube.kubectl(
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/portplugs.ovn-plug-agent.io',
  );
  await kube.run('kubectl', ['apply', '-f', '-'], {
    input: `apiVersion: v1\nkind: Node\nmetadata:\n  name: ${BENCH_NODE}\n`,
  });
  return { kube, kubeconfig: kube.adminKubeconfig };
}

/** A kubeconfig for `--no-server`: read and parsed, never dialled. */
async function offlineKubeconfig(): Promise<string> {
  const path = join(BUILD_DIR, 'offline.kubeconfig');
  await writeFile(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]',
      'users: [{name: u, user: {token: bench}}]',
      'contexts: [{name: x, context: {cluster: c, user: u}}]',
      'current-context: x',
      '',
    ].join('\n'),
  );
  return path;
}

interface Variant {
  readonly label: string;
  readonly args: (kubeconfig: string, rounds: number) => string[];
}

async function main(): Promise<void> {
  console.log(`node ${process.version}, flags ${NODE_FLAGS.join(' ')}, ${REPEAT} processes per client`);
  const majors = await installClientNode();
  for (const major of majors) {
    console.log(
      `@kubernetes/client-node ${major.version}: ${major.loadError === undefined ? 'loads' : `does not load on this Node (${major.loadError})`}`,
    );
  }
  const loadable = majors.filter((major) => major.loadError === undefined);
  const newest = loadable[0];
  if (newest === undefined) throw new Error('no @kubernetes/client-node major loads on this Node');
  const child = await compile();
  const server = WITH_SERVER ? await prepareServer() : undefined;
  const rounds = server === undefined ? 0 : ROUNDS;
  const kubeconfig = server?.kubeconfig ?? (await offlineKubeconfig());
  const variants: Variant[] = [
    { label: 'none', args: (k, r) => ['none', k, BENCH_NODE, String(r)] },
    { label: 'narrow', args: (k, r) => ['narrow', k, BENCH_NODE, String(r)] },
    ...loadable.map((major) => ({
      label: `client-node ${major.version}`,
      args: (k: string, r: number) => ['client-node', k, BENCH_NODE, String(r), major.entry],
    })),
  ];
  const results = new Map<string, ChildResult[]>(variants.map((v) => [v.label, []]));
  try {
    // Interleaved, so every client sees the same background load of the shared machine.
    for (let i = 0; i < REPEAT; i++) {
      for (const variant of variants) {
        results.get(variant.label)?.push(await measure(child, variant.args(kubeconfig, rounds)));
      }
    }
  } finally {
    await server?.kube.stop();
  }
  const phase = server === undefined ? 'loaded' : 'called';
  const medianOf = (label: string, which: 'loaded' | 'called', key: keyof PhaseFigures): number =>
    median((results.get(label) ?? []).map((r) => r[which][key]));
  console.log(`\nmedians of ${REPEAT} processes; cost = client − none; ${rounds} rounds of calls`);
  console.log('client                 phase    rss_mb  heap_mb  external_mb  cost_rss_mb  cost_heap_mb');
  for (const variant of variants) {
    for (const which of ['loaded', 'called'] as const) {
      const rss = medianOf(variant.label, which, 'rssBytes');
      const heap = medianOf(variant.label, which, 'heapUsedBytes');
      const external = medianOf(variant.label, which, 'externalBytes');
      const costRss = rss - medianOf('none', which, 'rssBytes');
      const costHeap = heap - medianOf('none', which, 'heapUsedBytes');
      console.log(
        `${variant.label.padEnd(22)} ${which.padEnd(7)} ${String(mb(rss)).padStart(7)} ${String(mb(heap)).padStart(8)} ${String(mb(external)).padStart(12)} ${String(mb(costRss)).padStart(12)} ${String(mb(costHeap)).padStart(13)}`,
      );
    }
  }
  const cost = (label: string, key: keyof PhaseFigures): number =>
    mb(medianOf(label, phase, key) - medianOf('none', phase, key));
  const clientNodeLabel = `client-node ${newest.version}`;
  const clientNodeRss = cost(clientNodeLabel, 'rssBytes');
  console.log(
    `kube-client node=${process.version} client_node=${newest.version} client_node_rss_mb=${clientNodeRss} narrow_rss_mb=${cost('narrow', 'rssBytes')} client_node_heap_mb=${cost(clientNodeLabel, 'heapUsedBytes')} narrow_heap_mb=${cost('narrow', 'heapUsedBytes')} decision=${clientNodeRss <= ADOPT_LIMIT_MB ? 'adopt-client-node' : 'keep-narrow'}`,
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
