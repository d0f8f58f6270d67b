/**
 * Running the agent as a deployment runs it: an installed `ovn-plug-agent` executable (a symlink
 * to the built `cli.js`, `#!/usr/bin/env node`), started with exactly the environment the
 * deployment gives it — no inherited variables. `node` is found through that environment's PATH,
 * whose first entry is the directory of the Node running the tests, so a test run under Node 26
 * (scripts/test.sh) runs the deployed agent under Node 26 too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { dirname, join } from 'node:path';

/** systemd's default PATH for services (and the Node images' PATH), after the tests' Node. */
export const DEPLOYED_PATH = [
  dirname(process.execPath),
  '/usr/local/sbin',
  '/usr/local/bin',
  '/usr/sbin',
  '/usr/bin',
  '/sbin',
  '/bin',
].join(':');

export interface DeployedAgent {
  readonly proc: ChildProcess;
  /** Everything written to stdout so far (the agent's JSON log lines). */
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal) after the last output. */
  readonly exited: Promise<number | null>;
}

/** Starts `argv` with exactly `env`; the caller stops it (SIGTERM) or waits for `exited`. */
export function startDeployed(argv: readonly string[], env: Readonly<Record<string, string>>): DeployedAgent {
  const [command, ...args] = argv;
  if (command === undefined) throw new Error('empty command line');
  const proc = spawn(command, args, { env: { ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));
  return { proc, stdout: () => out, stderr: () => err, exited };
}

export interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `argv` with exactly `env` to completion (killed after `timeoutMs`). */
export async function runDeployed(
  argv: readonly string[],
  env: Readonly<Record<string, string>>,
  timeoutMs = 30_000,
): Promise<Finished> {
  const agent = startDeployed(argv, env);
  const timer = setTimeout(() => agent.proc.kill('SIGKILL'), timeoutMs);
  try {
    const code = await agent.exited;
    return { code, stdout: agent.stdout(), stderr: agent.stderr() };
  } finally {
    clearTimeout(timer);
  }
}

/** What a shell does with a bare command name: the first executable `name` on `path`. */
export function lookPath(name: string, path: string): string {
  for (const dir of path.split(':')) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new Error(`${name}: not found on PATH=${path}`);
}

/** The `version` label of `<prefix>nodejs_version_info` in a Prometheus text exposition. */
export function nodeVersionFromMetrics(metrics: string): string | undefined {
  return /^\w*nodejs_version_info\{[^}]*\bversion="([^"]+)"/m.exec(metrics)?.[1];
}
