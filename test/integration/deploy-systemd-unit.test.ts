/**
 * The plain-daemon deployment (deploy/systemd, docs/operations.md "Running it under systemd"):
 * the documented install command (scripts/install-cli.sh: `npm pack`, then `npm install -g` of the
 * tarball) staged under a temporary root; `systemd-analyze verify` of the unit with its ExecStart
 * binary in place; and the unit's ExecStart run with exactly its environment file's variables
 * (plus systemd's PATH), under the unit's capabilities and read-only file system, against a real
 * OVN sandbox with an unmodified ovn-controller.
 */
import { cp, mkdtemp, readFile, readlink, realpath, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envNameOf, parseCommandLine, usage } from '../../src/agent/index.js';
import {
  interfacesForLogicalPort,
  lspAdd,
  pickFreePort,
  runCommand,
  startSandbox,
  waitPortBindingUp,
  waitUntil,
  type Sandbox,
} from '../harness/index.js';
import {
  DEPLOYED_PATH,
  nodeVersionFromMetrics,
  runDeployed,
  startDeployed,
  type DeployedAgent,
} from './support/deployed-agent.js';
import {
  confinementPrefix,
  environmentFilePath,
  execStartArgv,
  parseEnvironmentFile,
  parseUnitFile,
  unitValue,
  type UnitSections,
} from './support/systemd-unit.js';

const UNIT_SOURCE = resolve('deploy/systemd/ovn-plug-agent.service');
const ENV_SOURCE = resolve('deploy/systemd/ovn-plug-agent.env');
const UNIT_NAME = 'ovn-plug-agent.service';

let root: string;
let sandbox: Sandbox | undefined;
let unit: UnitSections;
const agents: DeployedAgent[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ovn-plug-agent-root-'));
  // The test's own environment (npm, the registry): what an operator's shell would have.
  await runCommand('bash', ['scripts/install-cli.sh', `--root=${root}`, '--systemd'], {
    env: inheritedEnv(),
    timeoutMs: 240_000,
  });
  unit = parseUnitFile(await readFile(join(root, 'etc/systemd/system', UNIT_NAME), 'utf8'));
  sandbox = await startSandbox({ chassis: ['hv1'] });
}, 300_000);

afterAll(async () => {
  for (const agent of agents) agent.proc.kill('SIGKILL');
  await sandbox?.stop();
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

/** A path the unit names, inside the staged root. */
function staged(path: string): string {
  return join(root, path);
}

/** The installed environment file as systemd would read it for this unit. */
async function unitEnvironment(): Promise<Map<string, string>> {
  const { path } = environmentFilePath(unitValue(unit, 'Service', 'EnvironmentFile'));
  return new Map(parseEnvironmentFile(await readFile(staged(path), 'utf8')).vars);
}

function inheritedEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined),
  );
}

function asEnv(vars: ReadonlyMap<string, string>): Record<string, string> {
  return { ...Object.fromEntries(vars), PATH: DEPLOYED_PATH };
}

describe('deploy/systemd/ovn-plug-agent.service', () => {
  it('is installed from the npm tarball with its environment file, and ExecStart names the installed command', async () => {
    expect(await readFile(staged(`etc/systemd/system/${UNIT_NAME}`), 'utf8')).toBe(
      await readFile(UNIT_SOURCE, 'utf8'),
    );
    const envFile = environmentFilePath(unitValue(unit, 'Service', 'EnvironmentFile'));
    expect(envFile.path).toBe('/etc/default/ovn-plug-agent');
    expect(await readFile(staged(envFile.path), 'utf8')).toBe(await readFile(ENV_SOURCE, 'utf8'));
    const argv = execStartArgv(unitValue(unit, 'Service', 'ExecStart'));
    expect(argv).toEqual(['/usr/local/bin/ovn-plug-agent', 'run']);
    expect(await readlink(staged(argv[0] ?? ''))).toBe(
      '../lib/node_modules/ovn-plug-agent/dist/src/agent/cli.js',
    );
    expect((await stat(staged(argv[0] ?? ''))).mode & 0o111).not.toBe(0);
    // Hardening the agent relies on being there (ADR 0097); the full list is scored in the test command.
    expect(unitValue(unit, 'Service', 'CapabilityBoundingSet')).toBe('CAP_NET_ADMIN');
    expect(unitValue(unit, 'Service', 'ProtectSystem')).toBe('strict');
    expect(unitValue(unit, 'Service', 'ReadWritePaths')).toBe('-/run/openvswitch');
    expect(unitValue(unit, 'Service', 'RestartPreventExitStatus')).toBe('2');
  });

  it('passes `systemd-analyze verify` with ExecStart installed, and fails it without', async () => {
    // verify resolves the unit's dependencies (sysinit.target, ...) inside --root.
    await cp('/usr/lib/systemd/system', staged('usr/lib/systemd/system'), {
      recursive: true,
      verbatimSymlinks: true,
    });
    const verify = async (): Promise<{ code: number | null; output: string }> => {
      const r = await runDeployed(
        ['systemd-analyze', 'verify', '--man=no', `--root=${root}`, UNIT_NAME],
        inheritedEnv(),
        60_000,
      );
      return { code: r.code, output: (r.stdout + r.stderr).trim() };
    };
    expect(await verify()).toEqual({ code: 0, output: '' });

    const bin = staged('usr/local/bin/ovn-plug-agent');
    await rename(bin, `${bin}.away`);
    try {
      const broken = await verify();
      expect(broken.code).not.toBe(0);
      expect(broken.output).toContain('/usr/local/bin/ovn-plug-agent is not executable');
    } finally {
      await rename(`${bin}.away`, bin);
    }
  });

  it('has an environment file of plain KEY=value lines, each a flag the agent knows, examples included', async () => {
    const { vars, examples } = parseEnvironmentFile(await readFile(ENV_SOURCE, 'utf8'));
    const all = new Map([...vars, ...examples]);
    expect(all.size).toBeGreaterThan(10);
    for (const name of all.keys()) {
      if (name === 'NODE_OPTIONS') continue;
      expect(name).toMatch(/^OVN_PLUG_AGENT_[A-Z_]+$/);
      const flag = name.slice('OVN_PLUG_AGENT_'.length).toLowerCase().replace(/_/g, '-');
      expect(envNameOf(flag)).toBe(name);
      expect(usage()).toContain(`--${flag}`);
    }
    const active = parseCommandLine([], Object.fromEntries(vars));
    expect(active.ok ? 'ok' : active.errors).toBe('ok');
    const everything = parseCommandLine([], Object.fromEntries(all));
    expect(everything.ok ? 'ok' : everything.errors).toBe('ok');
    // A quoted value is what systemd would pass differently; the parser refuses it.
    expect(() => parseEnvironmentFile('OVN_PLUG_AGENT_LISTEN="127.0.0.1:9476"\n')).toThrow(/quotes/);
  });

  it('runs ExecStart with the environment file: a port is plugged and Bound, `status` finds it, SIGTERM leaves it plugged', async () => {
    if (sandbox === undefined) throw new Error('no sandbox');
    const port = await pickFreePort();
    const vars = await unitEnvironment();
    // The template's settings, pointed at the sandbox: its OVS DB, the dummy provider, a free port.
    expect(vars.get('OVN_PLUG_AGENT_PROVIDERS')).toBe('representor');
    expect(vars.get('OVN_PLUG_AGENT_LISTEN')).toBe('127.0.0.1:9476');
    vars.set('OVN_PLUG_AGENT_PROVIDERS', 'dummy');
    vars.set('OVN_PLUG_AGENT_LISTEN', `127.0.0.1:${port}`);
    vars.set('OVN_PLUG_AGENT_OVS_DB', sandbox.node('hv1').ovs.dbRemote);
    const env = asEnv(vars);
    const [exec, ...args] = execStartArgv(unitValue(unit, 'Service', 'ExecStart'));
    // The unit's capabilities, no-new-privileges and read-only file system, as far as they can be
    // had without systemd; its ReadWritePaths entry stands for the sandbox's OVS run directory.
    const ovsRunDir = dirname(sandbox.node('hv1').ovs.dbRemote.replace(/^unix:/, ''));
    const confinement = confinementPrefix(unit, (path) => {
      expect(path).toBe('/run/openvswitch');
      return ovsRunDir;
    });
    const agent = startDeployed([...confinement, staged(exec ?? ''), ...args], env);
    agents.push(agent);
    const url = `http://127.0.0.1:${port}`;
    await waitUntil(async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200, {
      description: `agent from ExecStart ready (stderr: ${agent.stderr()})`,
      timeoutMs: 30_000,
      maxIntervalMs: 200,
    });
    // unshare, sh and setpriv each exec the next: the spawned pid is the agent's node process.
    const procStatus = await readFile(`/proc/${agent.proc.pid}/status`, 'utf8');
    expect(await readlink(`/proc/${agent.proc.pid}/exe`)).toBe(await realpath(process.execPath));
    expect(procStatus).toMatch(/^CapEff:\s+0000000000001000$/m); // CAP_NET_ADMIN only
    expect(procStatus).toMatch(/^CapBnd:\s+0000000000001000$/m);
    expect(procStatus).toMatch(/^NoNewPrivs:\s+1$/m);
    const mounts = (await readFile(`/proc/${agent.proc.pid}/mountinfo`, 'utf8')).split('\n');
    const mountOptions = (point: string): string | undefined =>
      mounts.find((l) => l.split(' ')[4] === point)?.split(' ')[5];
    expect(mountOptions('/')).toMatch(/^ro\b/);
    expect(mountOptions(ovsRunDir)).toMatch(/^rw\b/);

    await lspAdd(sandbox.central, 'sd1', {
      options: { 'requested-chassis': 'hv1', 'vif-plug-type': 'dummy' },
    });
    await waitPortBindingUp(sandbox.central, 'sd1');
    const status = await waitUntil(
      async () => {
        const r = await runDeployed([staged('usr/local/bin/ovn-plug-agent'), 'status'], env);
        return /^sd1\s+Bound\s/m.test(r.stdout) ? r : undefined;
      },
      { description: 'sd1 Bound in `ovn-plug-agent status`', timeoutMs: 20_000, maxIntervalMs: 300 },
    );
    expect(status.code).toBe(0);
    // The deployed command runs on the Node of this test run (Node 26 in scripts/test.sh's second pass).
    expect(nodeVersionFromMetrics(await (await fetch(`${url}/metrics`)).text())).toBe(process.version);

    const plugged = await interfacesForLogicalPort(sandbox.node('hv1').ovs, 'sd1');
    expect(plugged).toHaveLength(1);
    agent.proc.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
    expect(await interfacesForLogicalPort(sandbox.node('hv1').ovs, 'sd1')).toEqual(plugged);
    // Logs for the journal: JSON lines on stdout, nothing on stderr.
    const lines = agent
      .stdout()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { msg?: string; logicalPort?: string });
    expect(lines.some((l) => l.logicalPort === 'sd1' && l.msg === 'plugged port')).toBe(true);
    expect(agent.stderr()).toBe('');
  });

  it('exits 2 naming the variable when the environment file has a bad value (RestartPreventExitStatus=2)', async () => {
    const vars = await unitEnvironment();
    vars.set('OVN_PLUG_AGENT_LISTEN', '127.0.0.1:99999');
    const [exec, ...args] = execStartArgv(unitValue(unit, 'Service', 'ExecStart'));
    const r = await runDeployed([staged(exec ?? ''), ...args], asEnv(vars));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('OVN_PLUG_AGENT_LISTEN');
    expect(r.stderr).toContain('127.0.0.1:99999');
  });
});
