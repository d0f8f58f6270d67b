import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCommand, toolEnv, waitUntil } from '../harness/index.js';

const repoRoot = join(import.meta.dirname, '..', '..');

async function processesUnder(dir: string): Promise<string[]> {
  try {
    const { stdout } = await runCommand('pgrep', ['-fa', dir], { env: toolEnv(tmpdir()) });
    return stdout.split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

interface RunningCli {
  readonly child: ChildProcess;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly env: Record<string, string>;
  /** stdout and stderr so far. */
  readonly output: () => string;
}

/** Starts scripts/sandbox.ts in one Node process (no npx/tsx wrapper) and waits for its env file. */
async function startCli(workDir: string, args: string[]): Promise<RunningCli> {
  const envOut = join(workDir, 'sandbox.env');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'scripts/sandbox.ts', `--env-out=${envOut}`, ...args],
    {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  await waitUntil(
    () => {
      if (child.exitCode !== null) throw new Error(`sandbox CLI exited early:\n${output}`);
      return existsSync(envOut);
    },
    { description: `sandbox CLI to write ${envOut}`, timeoutMs: 30_000 },
  );
  const env = Object.fromEntries(
    readFileSync(envOut, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  return { child, exit, env, output: () => output };
}

describe('scripts/sandbox.ts', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('runs a two-chassis sandbox until SIGTERM, then stops every process and removes its files', async () => {
    const workDir = await mkdtemp(join(tmpdir(), 'h-cli-'));
    cleanups.push(() => rm(workDir, { recursive: true, force: true }));
    const cli = await startCli(workDir, ['--chassis=hv1,hv2']);
    cleanups.push(() => Promise.resolve(void cli.child.kill('SIGKILL')));
    const dir = cli.env['SANDBOX_DIR'] ?? '';
    expect(dir).toMatch(/^\/tmp\/h-sandbox-/);
    expect(cli.env['SANDBOX_CHASSIS']).toBe('hv1,hv2');
    // NB, SB, northd + per chassis: OVS DB, vswitchd, ovn-controller.
    expect(await processesUnder(dir)).toHaveLength(9);
    const { stdout } = await runCommand(
      'ovn-sbctl',
      [`--db=${cli.env['OVN_SB_DB'] ?? ''}`, '--bare', '--columns=name', 'list', 'Chassis'],
      {
        env: toolEnv(workDir),
      },
    );
    expect(stdout.split('\n').filter(Boolean).sort()).toEqual(['hv1', 'hv2']);
    // The log list names the NB/SB server logs one folder below central/, and they exist.
    await waitUntil(() => cli.output().includes('Press Ctrl-C to stop.'), {
      description: 'the sandbox CLI hints',
    });
    const logs =
      cli
        .output()
        .match(/^ {2}\/\S+\.log$/gm)
        ?.map((l) => l.trim()) ?? [];
    expect(logs).toEqual(
      expect.arrayContaining([join(dir, 'central/nb/nb.log'), join(dir, 'central/sb/sb.log')]),
    );
    expect(logs.every((log) => existsSync(log))).toBe(true);

    cli.child.kill('SIGTERM');
    expect(await cli.exit).toEqual({ code: 0, signal: null });
    expect(await processesUnder(dir)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(join(workDir, 'sandbox.env'))).toBe(false);
  });

  it('leaves no server behind when the Node process itself is killed with SIGKILL', async () => {
    const workDir = await mkdtemp(join(tmpdir(), 'h-cli-'));
    cleanups.push(() => rm(workDir, { recursive: true, force: true }));
    const cli = await startCli(workDir, ['--chassis=hv1', '--no-hints']);
    const dir = cli.env['SANDBOX_DIR'] ?? '';
    // --no-hints (scripts/demo.sh --once): the settings, but nothing to try and no Ctrl-C.
    await waitUntil(() => cli.output().includes('OVS_RUNDIR_HV1='), { description: 'the settings' });
    await new Promise((r) => setTimeout(r, 300));
    expect(cli.output()).not.toMatch(/Press Ctrl-C|Try, from another shell|Logs:/);
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    expect(await processesUnder(dir)).toHaveLength(6);
    cli.child.kill('SIGKILL');
    await cli.exit;
    // No JavaScript runs after SIGKILL: only the parent-death signal can end the servers.
    await waitUntil(async () => (await processesUnder(dir)).length === 0, {
      description: 'servers to die with their parent',
      timeoutMs: 5_000,
    });
  });

  it('rejects a bad chassis name, naming it', async () => {
    const { stderr, code } = await new Promise<{ stderr: string; code: number | null }>((resolve) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'scripts/sandbox.ts', '--chassis=hv1,bad name'],
        {
          cwd: repoRoot,
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let err = '';
      child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
      child.once('exit', (c) => resolve({ stderr: err, code: c }));
    });
    expect(code).toBe(2);
    expect(stderr).toContain('invalid chassis name "bad name"');
  });
});
