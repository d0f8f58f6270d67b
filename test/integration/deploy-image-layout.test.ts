/**
 * The container image without Docker: the Dockerfile's runtime stage replayed under a temporary
 * root (its file layout from the build stage, then its own RUN step that puts `ovn-plug-agent` on
 * the PATH), the agent started as the chart's DaemonSet starts it (the image's ENTRYPOINT, the
 * container args and env from `helm template`, the image's ENV) against a real OVN sandbox, and
 * the command NOTES.txt gives operators (`kubectl exec … -- ovn-plug-agent status`) run with the
 * container's environment, as `kubectl exec` runs it.
 */
import { cp, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  lspAdd,
  pickFreePort,
  runCommand,
  startSandbox,
  waitPortBindingUp,
  waitUntil,
  type Sandbox,
} from '../harness/index.js';
import { findKubeTools, runTool } from '../harness/kube/index.js';
import {
  DEPLOYED_PATH,
  lookPath,
  nodeVersionFromMetrics,
  runDeployed,
  startDeployed,
  type DeployedAgent,
} from './support/deployed-agent.js';

const CHART = resolve('deploy/helm/ovn-plug-agent');

interface Instruction {
  readonly op: string;
  readonly args: string;
}

/** The Dockerfile's instructions per stage (continuation lines joined, comments dropped). */
function dockerfileStages(text: string): Instruction[][] {
  const stages: Instruction[][] = [[]];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue;
    pending += (pending === '' ? '' : ' ') + line.replace(/\\$/, '').trim();
    if (line.endsWith('\\')) continue;
    const m = /^(\w+)\s+(.*)$/.exec(pending);
    pending = '';
    if (m === null) continue;
    const op = (m[1] ?? '').toUpperCase();
    if (op === 'FROM') stages.push([]);
    stages[stages.length - 1]?.push({ op, args: m[2] ?? '' });
  }
  return stages;
}

/** `ENV A=1 B=2` pairs (unquoted values, as this Dockerfile writes them). */
function envPairs(args: string): [string, string][] {
  return args.split(/\s+/).map((pair) => {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`ENV form not supported here: "${args}"`);
    return [pair.slice(0, eq), pair.slice(eq + 1)];
  });
}

interface Container {
  readonly args: string[];
  readonly env: { name: string; value?: string }[];
}

let root: string;
let sandbox: Sandbox | undefined;
let runtime: Instruction[];
const agents: DeployedAgent[] = [];

beforeAll(async () => {
  const stages = dockerfileStages(await readFile('Dockerfile', 'utf8'));
  runtime = stages[stages.length - 1] ?? [];
  root = await mkdtemp(join(tmpdir(), 'ovn-plug-agent-image-'));
  // The build stage's `npm run build` (tsc -p tsconfig.build.json) and the runtime stage's COPYs.
  await runCommand(
    process.execPath,
    ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json', '--outDir', join(root, 'src/dist')],
    { env: { PATH: DEPLOYED_PATH }, timeoutMs: 180_000 },
  );
  await mkdir(join(root, 'app/dist'), { recursive: true });
  await cp(join(root, 'src/dist/src'), join(root, 'app/dist/src'), { recursive: true });
  await cp('package.json', join(root, 'app/package.json'));
  await symlink(resolve('node_modules'), join(root, 'app/node_modules'));
  await mkdir(join(root, 'usr/local/bin'), { recursive: true });
  sandbox = await startSandbox({ chassis: ['hv1'] });
}, 300_000);

afterAll(async () => {
  for (const agent of agents) agent.proc.kill('SIGKILL');
  await sandbox?.stop();
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

/** An absolute path of the image, inside the temporary root. */
function inRoot(path: string): string {
  return join(root, path);
}

describe('the image (Dockerfile) and the chart that runs it', () => {
  it('lays out /app as the replay assumes', () => {
    const steps = runtime.map((i) => `${i.op} ${i.args}`);
    expect(steps).toContain('WORKDIR /app');
    expect(steps).toContain('COPY --from=build /src/dist/src ./dist/src');
    expect(steps).toContain('COPY --from=runtime-deps /app/node_modules ./node_modules');
    expect(steps).toContain('COPY package.json ./');
  });

  it('runs as the DaemonSet runs it, and NOTES.txt`s `kubectl exec … ovn-plug-agent status` answers', async () => {
    if (sandbox === undefined) throw new Error('no sandbox');
    // The runtime stage's own RUN steps (not the apt-get one), with every absolute path in root.
    const runs = runtime.filter((i) => i.op === 'RUN' && !i.args.includes('apt-get'));
    expect(runs.length).toBeGreaterThan(0);
    for (const run of runs) {
      const command = run.args.replace(/(^|\s)\//g, `$1${root}/`);
      await runCommand('sh', ['-c', command], { env: { PATH: DEPLOYED_PATH } });
    }

    const port = await pickFreePort();
    const tools = await findKubeTools();
    const rendered = await runTool(
      tools.helm,
      [
        'template',
        'opa',
        CHART,
        '--namespace',
        'ovn-plug',
        '--set',
        `agent.ovsDb=${sandbox.node('hv1').ovs.dbRemote}`,
        '--set',
        'agent.providers=dummy',
        '--set',
        `agent.listen=127.0.0.1:${port}`,
        '--set',
        'kubernetes.statusReporting=false',
      ],
      { PATH: DEPLOYED_PATH, HOME: root, HELM_CACHE_HOME: inRoot('helm'), HELM_CONFIG_HOME: inRoot('helm') },
    );
    expect(rendered.stderr).toBe('');
    const daemonSet = parseAllDocuments(rendered.stdout)
      .map((d) => d.toJS() as { kind?: string; spec?: { template: { spec: { containers: Container[] } } } })
      .find((d) => d.kind === 'DaemonSet');
    const container = daemonSet?.spec?.template.spec.containers[0];
    if (container === undefined) throw new Error('no DaemonSet container in helm template output');

    // The container's environment: the image's ENV, then the pod's env (which wins), the image's PATH.
    const env: Record<string, string> = {};
    for (const i of runtime.filter((i) => i.op === 'ENV')) for (const [k, v] of envPairs(i.args)) env[k] = v;
    for (const e of container.env) if (e.value !== undefined) env[e.name] = e.value;
    env['NODE_NAME'] = 'dpu-1';
    env['PATH'] = `${inRoot('usr/local/bin')}:${DEPLOYED_PATH}`;

    const entrypoint = runtime.find((i) => i.op === 'ENTRYPOINT');
    const entry = JSON.parse(entrypoint?.args ?? '[]') as string[];
    expect(entry).toEqual(['/usr/local/bin/ovn-plug-agent']);
    const argv = [inRoot(entry[0] ?? ''), ...container.args.map((a) => a.replace('$(NODE_NAME)', 'dpu-1'))];
    const agent = startDeployed(argv, env);
    agents.push(agent);
    const url = `http://127.0.0.1:${port}`;
    await waitUntil(async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200, {
      description: `agent from the image layout ready (stderr: ${agent.stderr()})`,
      timeoutMs: 30_000,
      maxIntervalMs: 200,
    });
    await lspAdd(sandbox.central, 'im1', {
      options: { 'requested-chassis': 'hv1', 'vif-plug-type': 'dummy' },
    });
    await waitPortBindingUp(sandbox.central, 'im1');

    // What NOTES.txt tells the operator to run inside the pod, word for word.
    const notes = await readFile(join(CHART, 'templates/NOTES.txt'), 'utf8');
    const execLine = notes.split('\n').find((l) => l.includes('kubectl exec'));
    const inPod = execLine?.split(' -- ')[1]?.trim().split(/\s+/) ?? [];
    expect(inPod).toEqual(['ovn-plug-agent', 'status']);
    const status = await waitUntil(
      async () => {
        const r = await runDeployed([lookPath(inPod[0] ?? '', env['PATH'] ?? ''), ...inPod.slice(1)], env);
        return /^im1\s+Bound\s/m.test(r.stdout) ? r : undefined;
      },
      {
        description: 'im1 Bound in `ovn-plug-agent status` inside the "pod"',
        timeoutMs: 20_000,
        maxIntervalMs: 300,
      },
    );
    expect(status.code).toBe(0);
    expect(nodeVersionFromMetrics(await (await fetch(`${url}/metrics`)).text())).toBe(process.version);
    agent.proc.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
  });
});
