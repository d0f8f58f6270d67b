/**
 * scripts/demo.sh as a newcomer runs it (README): what it prints must work. The interactive run
 * suggests a /metrics grep that shows only the agent's own series and a way to find every log
 * (the NB/SB logs live one folder below central/); `--once` prints no hint for a sandbox it has
 * already removed. Both runs start the real sandbox and agent (about 15 s each).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCommand, TOOL_PATH, waitUntil } from '../harness/index.js';

const repoRoot = join(import.meta.dirname, '..', '..');
const work = await mkdtemp(join(tmpdir(), 'h-demo-'));

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

interface DemoRun {
  readonly output: () => string;
  readonly exit: Promise<number | null>;
  /** Signals the demo's whole process group (as Ctrl-C in a terminal does). */
  readonly interrupt: () => void;
}

function runDemo(args: string[]): DemoRun {
  const child = spawn('bash', ['scripts/demo.sh', ...args], {
    cwd: repoRoot,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PATH: `${process.env['PATH'] ?? ''}:${TOOL_PATH}` },
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    output: () => output,
    exit,
    interrupt: () => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGINT');
    },
  };
}

describe('scripts/demo.sh', () => {
  it('interactive: the suggested metrics grep shows only ovn_plug_ agent series; the log hint finds the NB/SB logs', async () => {
    const demo = runDemo([]);
    try {
      await waitUntil(() => demo.output().includes('demo: running; press Ctrl-C'), {
        description: 'the demo to be running',
        timeoutMs: 90_000,
        maxIntervalMs: 500,
      });
      const out = demo.output();
      const metricsHint = /curl -s (http:\/\/\S+\/metrics) \| (.+)$/m.exec(out);
      expect(metricsHint, out).not.toBeNull();
      const [, url = '', filters = ''] = metricsHint ?? [];
      const scraped = join(work, 'metrics.txt');
      await writeFile(scraped, await (await fetch(url)).text());
      const { stdout } = await runCommand('bash', ['-c', `cat ${scraped} | ${filters}`], {
        env: { PATH: TOOL_PATH },
      });
      const lines = stdout.split('\n').filter(Boolean);
      expect(lines.every((l) => l.startsWith('ovn_plug_'))).toBe(true);
      expect(lines.filter((l) => /^ovn_plug_(process|nodejs)_/.test(l))).toEqual([]);
      expect(lines[0]).toMatch(/^ovn_plug_(build_info|ports|port_info)/);
      expect(lines).toContain('ovn_plug_ports{state="Bound"} 3');

      const logHint = /all logs: (find \S+ -name '\*\.log')/.exec(out);
      expect(logHint, out).not.toBeNull();
      const found = (await runCommand('bash', ['-c', logHint?.[1] ?? 'false'], { env: { PATH: TOOL_PATH } }))
        .stdout;
      expect(found).toMatch(/\/central\/nb\/nb\.log$/m);
      expect(found).toMatch(/\/central\/sb\/sb\.log$/m);
      expect(found).toMatch(/\/ovn-plug-agent\.log$/m);
      expect(out).toContain('holds 3 port(s):');
      expect(out).not.toContain('nothing to plug');
    } finally {
      demo.interrupt();
    }
    expect(await demo.exit).toBe(130);
    const dir = /SANDBOX_DIR=(\S+)/.exec(demo.output())?.[1];
    expect(dir).toBeDefined();
    expect(existsSync(dir ?? '/')).toBe(false);
  });

  it('--once: exits 0 and prints no Ctrl-C hint or commands for the sandbox it removed', async () => {
    const demo = runDemo(['--once']);
    const code = await demo.exit;
    const out = demo.output();
    expect(code, out).toBe(0);
    expect(out).toContain('demo: all ports bound');
    expect(out).toContain('holds 3 port(s):');
    expect(out).not.toMatch(/Ctrl-C|Try, from another shell|Look around|ovn-nbctl --db=/);
  });
});
