/**
 * End to end: the real agent process (the CLI, as the DaemonSet runs it) against a sandbox with
 * an unmodified ovn-controller AND a real kube-apiserver, authenticated as its ServiceAccount
 * with exactly the chart's RBAC. OVN ports requesting the dummy provider are plugged, blocked
 * (a foreign interface: Conflict; an unknown provider: Pending) and unplugged; the operator's
 * view is read back with `kubectl describe node` and `kubectl get portplugs -o wide`. Last, the
 * chart's uninstall hook command (`remove-kube-status --all-nodes`) runs as its own process with
 * the hook's ServiceAccount and exactly the chart's cleanup ClusterRole.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  lspAdd,
  pickFreePort,
  startSandbox,
  waitPortBindingUp,
  waitUntil,
  type Sandbox,
} from '../harness/index.js';
import { startKubeApiServer, type KubeApiServer } from '../harness/kube/index.js';
import {
  defaultNamespaceEvents,
  prepareAgentCluster,
  prepareCleanupHookIdentity,
} from './support/kube-setup.js';

const NAMESPACE = 'ovn-plug';
const RELEASE = 'ovn-plug-agent';
const CHASSIS = 'hv1';
const NODE = CHASSIS;

interface PortPlugItem {
  spec: { logicalPort: string };
  status?: { state?: string; reason?: string; interfaceName?: string; ofport?: number };
}
interface NodeCondition {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime: string;
}

let sandbox: Sandbox;
let kube: KubeApiServer;
let agentKubeconfig: string;
let agent: { proc: ChildProcess; exited: Promise<number | null>; logs: () => string } | undefined;
let listen: string;

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the agent CLI as its own process (as the hook's container does) and waits for its exit. */
function runCliProcess(args: readonly string[]): Promise<CliRun> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/agent/cli.ts', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolveRun, rejectRun) => {
    proc.on('error', rejectRun);
    proc.on('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}

async function startAgentProcess(): Promise<NonNullable<typeof agent>> {
  const proc = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/agent/cli.ts',
      'run',
      `--ovs-db=${sandbox.node(CHASSIS).ovs.dbRemote}`,
      '--providers=dummy',
      `--listen=${listen}`,
      '--log-level=info',
      // The agent republishes its status on replans; a short resync makes readiness prompt
      // (see the report: SB sync completion alone does not republish the status).
      '--resync-interval=2s',
      `--kubeconfig=${agentKubeconfig}`,
      `--node-name=${NODE}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let logs = '';
  proc.stdout?.on('data', (d: Buffer) => (logs += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (logs += d.toString()));
  const exited = new Promise<number | null>((resolveExit) => proc.on('exit', (code) => resolveExit(code)));
  try {
    await waitUntil(
      async () => (await fetch(`http://${listen}/readyz`).catch(() => undefined))?.status === 200,
      {
        description: `agent ready on ${listen}`,
        timeoutMs: 30_000,
        maxIntervalMs: 200,
      },
    );
  } catch (error) {
    const readyz = await fetch(`http://${listen}/readyz`).then(
      (r) => r.text(),
      (e: unknown) => String(e),
    );
    proc.kill('SIGKILL');
    throw new Error(`agent did not become ready (/readyz: ${readyz}); its output:\n${logs}`, {
      cause: error,
    });
  }
  return { proc, exited, logs: () => logs };
}

async function portPlugs(): Promise<Record<string, PortPlugItem['status']>> {
  const out = await kube.kubectl('get', 'portplugs', '-o', 'json');
  const items = (JSON.parse(out) as { items: PortPlugItem[] }).items;
  return Object.fromEntries(items.map((item) => [item.spec.logicalPort, item.status]));
}

async function conditions(): Promise<Record<string, NodeCondition>> {
  const out = await kube.kubectl('get', 'node', NODE, '-o', 'jsonpath={.status.conditions}');
  const list = out === '' ? [] : (JSON.parse(out) as NodeCondition[]);
  return Object.fromEntries(list.map((c) => [c.type, c]));
}

function waitForPortStates(
  expected: Record<string, string>,
): Promise<Record<string, PortPlugItem['status']>> {
  return waitUntil(
    async () => {
      const objects = await portPlugs();
      const states = Object.fromEntries(
        Object.entries(objects).map(([port, status]) => [port, status?.state]),
      );
      return JSON.stringify(Object.entries(states).sort()) === JSON.stringify(Object.entries(expected).sort())
        ? objects
        : undefined;
    },
    { description: `PortPlug states ${JSON.stringify(expected)}`, timeoutMs: 30_000, maxIntervalMs: 250 },
  );
}

function waitForCondition(type: string, reason: string): Promise<NodeCondition> {
  return waitUntil(
    async () => {
      const found = (await conditions())[type];
      return found?.reason === reason ? found : undefined;
    },
    { description: `${type} ${reason}`, timeoutMs: 30_000, maxIntervalMs: 250 },
  );
}

beforeAll(async () => {
  [sandbox, kube] = await Promise.all([startSandbox({ chassis: [CHASSIS] }), startKubeApiServer()]);
  listen = `127.0.0.1:${await pickFreePort()}`;
  const prepared = await prepareAgentCluster(kube, { namespace: NAMESPACE, release: RELEASE, node: NODE });
  agentKubeconfig = prepared.agentKubeconfig;
}, 120_000);

afterAll(async () => {
  agent?.proc.kill('SIGKILL');
  await sandbox?.stop();
  await kube?.stop();
});

describe('agent process + sandbox + kube-apiserver', () => {
  it('plugs OVN ports: PortPlugs Bound with interface and ofport, node Ready', async () => {
    agent = await startAgentProcess();
    for (const name of ['ke1', 'ke2']) {
      await lspAdd(sandbox.central, name, {
        options: { 'requested-chassis': CHASSIS, 'vif-plug-type': 'dummy' },
      });
    }
    for (const name of ['ke1', 'ke2']) await waitPortBindingUp(sandbox.central, name);
    const objects = await waitForPortStates({ ke1: 'Bound', ke2: 'Bound' });
    expect(objects['ke1']).toMatchObject({ interfaceName: 'ke1' });
    expect(objects['ke1']?.ofport).toBeGreaterThan(0);
    const ready = await waitForCondition('OvnPlugReady', 'AllPortsBound');
    expect(ready).toMatchObject({
      status: 'True',
      message: 'connected to both databases; all 2 requested ports are Bound',
    });

    const described = await kube.kubectl('describe', 'node', NODE);
    expect(described).toMatch(
      /^\s+OvnPlugReady\s+True\s.*AllPortsBound\s+connected to both databases; all 2 requested ports are Bound$/m,
    );
    expect(described).toMatch(/^\s+OvnPlugDegraded\s+False\s.*NoPortProblems\s/m);
    const table = await kube.kubectl('get', 'portplugs', '-o', 'wide');
    console.log(
      `${described.slice(described.indexOf('Conditions:'), described.indexOf('Addresses:'))}\n${table}`,
    );
    expect(table).toMatch(/^hv1\.ke1\s+hv1\s+ke1\s+Bound\s+\S+\s+ke1\s+dummy\s/m);
  });

  it('reports a foreign interface as Conflict (with an Event) and an unknown provider as Pending', async () => {
    await sandbox
      .node(CHASSIS)
      .ovs.vsctl(
        'add-port',
        'br-int',
        'foreign-ke3',
        '--',
        'set',
        'Interface',
        'foreign-ke3',
        'type=internal',
        'external_ids:iface-id=ke3',
      );
    await lspAdd(sandbox.central, 'ke3', {
      options: { 'requested-chassis': CHASSIS, 'vif-plug-type': 'dummy' },
    });
    await lspAdd(sandbox.central, 'ke4', {
      options: { 'requested-chassis': CHASSIS, 'vif-plug-type': 'no-such-provider' },
    });
    const objects = await waitForPortStates({ ke1: 'Bound', ke2: 'Bound', ke3: 'Conflict', ke4: 'Pending' });
    expect(objects['ke3']).toMatchObject({ reason: 'ForeignInterface' });
    const degraded = await waitForCondition('OvnPlugDegraded', 'PortConflict');
    expect(degraded).toMatchObject({ status: 'True', message: '1 Conflict (ke3); 1 Pending (ke4)' });
    expect((await conditions())['OvnPlugReady']).toMatchObject({ status: 'False', reason: 'PortsNotBound' });
    const events = await waitUntil(
      async () => {
        const items = await defaultNamespaceEvents(kube, 'involvedObject.name=hv1.ke3');
        return items.length > 0 ? items : undefined;
      },
      { description: 'an Event for ke3', timeoutMs: 20_000, maxIntervalMs: 250 },
    );
    expect(events[0]).toMatchObject({ type: 'Warning', reason: 'ForeignInterface' });
    expect(events[0]?.message).toContain('foreign-ke3');
  });

  it('unplugs: removing the logical ports deletes their PortPlugs and clears Degraded', async () => {
    await sandbox.central.nbctl('lsp-del', 'ke1');
    await sandbox.central.nbctl('lsp-del', 'ke3');
    await sandbox.central.nbctl('lsp-del', 'ke4');
    await waitForPortStates({ ke2: 'Bound' });
    await waitForCondition('OvnPlugDegraded', 'NoPortProblems');
    await waitForCondition('OvnPlugReady', 'AllPortsBound');
  });

  it('SIGTERM leaves the conditions as they are; a restart causes no transition', async () => {
    const before = await conditions();
    agent?.proc.kill('SIGTERM');
    expect(await agent?.exited).toBe(0);
    expect(await conditions()).toEqual(before);
    agent = await startAgentProcess();
    await waitForPortStates({ ke2: 'Bound' });
    await new Promise((r) => setTimeout(r, 2000));
    const after = await conditions();
    expect(after['OvnPlugReady']?.lastTransitionTime).toBe(before['OvnPlugReady']?.lastTransitionTime);
    expect(after['OvnPlugDegraded']?.lastTransitionTime).toBe(before['OvnPlugDegraded']?.lastTransitionTime);
    expect(after['OvnPlugReady']?.status).toBe('True');
  });

  it('the uninstall hook command removes only OvnPlug* conditions and every PortPlug; a rerun is a no-op', async () => {
    agent?.proc.kill('SIGTERM');
    expect(await agent?.exited).toBe(0);
    agent = undefined;
    const hookKubeconfig = await prepareCleanupHookIdentity(kube, { namespace: NAMESPACE, release: RELEASE });
    const foreignCondition = {
      type: 'ExampleVendorNicHealthy',
      status: 'True',
      reason: 'LinkUp',
      message: 'written by another controller',
      lastTransitionTime: '2026-01-02T03:04:05Z',
    };
    await kube.kubectl(
      'patch',
      'node',
      NODE,
      '--subresource=status',
      '--type=strategic',
      '-p',
      JSON.stringify({ status: { conditions: [foreignCondition] } }),
    );
    const before = await conditions();
    expect(before['ExampleVendorNicHealthy']).toMatchObject(foreignCondition);
    expect(Object.keys(before).sort()).toEqual([
      'ExampleVendorNicHealthy',
      'OvnPlugDegraded',
      'OvnPlugReady',
    ]);
    expect(Object.keys(await portPlugs())).toEqual(['ke2']);

    const bad = await runCliProcess(['remove-kube-status', `--kubeconfig=${hookKubeconfig}`]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--all-nodes/);
    expect(bad.stderr).toMatch(/--node-name/);
    expect(Object.keys(await conditions()).sort()).toEqual(Object.keys(before).sort());

    const hookArgs = [
      'remove-kube-status',
      '--all-nodes',
      '--log-level=info',
      `--kubeconfig=${hookKubeconfig}`,
    ];
    const first = await runCliProcess(hookArgs);
    expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: '' });
    expect(first.stdout).toContain('removed conditions from 1 node(s), deleted 1 PortPlug object(s)');
    expect(await conditions()).toEqual({ ExampleVendorNicHealthy: before['ExampleVendorNicHealthy'] });
    expect(await kube.kubectl('get', 'portplugs', '-o', 'name')).toBe('');

    const nodeVersion = (): Promise<string> =>
      kube.kubectl('get', 'node', NODE, '-o', 'jsonpath={.metadata.resourceVersion}');
    const versionBeforeRerun = await nodeVersion();
    const second = await runCliProcess(hookArgs);
    expect({ code: second.code, stderr: second.stderr }).toEqual({ code: 0, stderr: '' });
    expect(second.stdout).toContain('removed conditions from 0 node(s), deleted 0 PortPlug object(s)');
    expect(await nodeVersion()).toBe(versionBeforeRerun);
    expect(await conditions()).toEqual({ ExampleVendorNicHealthy: before['ExampleVendorNicHealthy'] });
  });
});
