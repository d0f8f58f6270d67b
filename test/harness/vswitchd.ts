/**
 * One hypervisor's Open vSwitch: a local `Open_vSwitch` database and `ovs-vswitchd` on the
 * userspace dummy datapath (`--enable-dummy=override --disable-system`: no kernel module, no real
 * NICs, every netdev is a dummy), with the integration bridge created `datapath_type=dummy`.
 */
import { join } from 'node:path';
import { toolEnv } from './env.js';
import { runCommand } from './exec.js';
import { parseCtlTable, type CtlRow } from './ctl-json.js';
import { canConnectUnix } from './net.js';
import { startOvsdbServer, type OvsdbServer, type RemoteKind } from './ovsdb-server.js';
import { defaultRegistry, type ProcessRegistry, type Stoppable, SupervisedProcess } from './process.js';
import { makeWorkDir, removeWorkDir } from './tempdir.js';
import { stopAllReverse } from './ovn-central.js';
import { waitUntil } from './wait.js';

export const VSWITCH_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

export interface VswitchdOptions {
  /** Integration bridge to create; default `br-int`. */
  readonly bridge?: string;
  /** Directory name inside `dir` (e.g. the chassis name); default `ovs`. */
  readonly name?: string;
  /** Client remotes of the local database; default `['punix']`. */
  readonly remotes?: readonly RemoteKind[];
  /** Parent directory; by default a fresh private temp dir owned (and removed) by this component. */
  readonly dir?: string;
  readonly registry?: ProcessRegistry;
}

export interface Vswitchd extends Stoppable {
  /**
   * The node directory: database, sockets, `<bridge>.mgmt`, logs. It is the `OVS_RUNDIR` of
   * everything on this node, which is how ovn-controller finds the bridge's management socket.
   */
  readonly dir: string;
  readonly name: string;
  readonly bridge: string;
  readonly ovsdb: OvsdbServer;
  /** `unix:<dir>/db.sock` of the local Open_vSwitch database. */
  readonly dbRemote: string;
  readonly vswitchd: SupervisedProcess;
  readonly env: Readonly<Record<string, string>>;
  /** `ovs-vsctl --db=<local> ...args` (waits for vswitchd unless you pass `--no-wait`). */
  vsctl(...args: string[]): Promise<string>;
  /** `ovs-appctl -t <vswitchd ctl> ...args`. */
  appctl(...args: string[]): Promise<string>;
  /** `ovs-ofctl ...args` (use `<bridge>` as target; it resolves through this node's rundir). */
  ofctl(...args: string[]): Promise<string>;
  /** All Interface rows, decoded (see ctl-json.ts). */
  interfaces(): Promise<CtlRow[]>;
  /** Resolves once ovs-vswitchd has applied everything in its database so far (`cur_cfg`). */
  waitReconfigured(): Promise<void>;
  /** Restarts ovs-vswitchd alone (the database keeps running) and waits until it has caught up. */
  restartVswitchd(): Promise<void>;
}

/** Starts the local OVS database and ovs-vswitchd, and creates the integration bridge. */
export async function startVswitchd(options: VswitchdOptions = {}): Promise<Vswitchd> {
  const name = options.name ?? 'ovs';
  const bridge = options.bridge ?? 'br-int';
  const workDir = await makeWorkDir(`h-${name}`, options.dir, name);
  const registry = options.registry ?? defaultRegistry();
  const dir = workDir.path;
  const env = toolEnv(dir);
  const started: Stoppable[] = [];
  try {
    const ovsdb = await startOvsdbServer({
      schema: VSWITCH_SCHEMA,
      name: 'conf',
      dir,
      subdir: false,
      remotes: options.remotes ?? ['punix'],
      registry,
    });
    started.push(ovsdb);
    const nodeDir = dir;
    const nodeEnv = env;
    const dbRemote = ovsdb.remote;
    const vsctl = async (...args: string[]): Promise<string> =>
      (
        await runCommand('ovs-vsctl', [`--db=${dbRemote}`, '--timeout=20', ...args], {
          env: nodeEnv,
          timeoutMs: 30_000,
        })
      ).stdout;
    await vsctl('--no-wait', 'init');

    const ctlPath = join(nodeDir, 'ovs-vswitchd.ctl');
    const logPath = join(nodeDir, 'ovs-vswitchd.log');
    const vswitchd = new SupervisedProcess(
      {
        name: 'ovs-vswitchd',
        command: 'ovs-vswitchd',
        args: [
          dbRemote,
          '--enable-dummy=override',
          '--disable-system',
          '--disable-system-route',
          `--unixctl=${ctlPath}`,
          `--pidfile=${join(nodeDir, 'ovs-vswitchd.pid')}`,
          `--log-file=${logPath}`,
          '-vconsole:err',
        ],
        dir: nodeDir,
        env: nodeEnv,
        logFiles: [logPath],
        ready: () => canConnectUnix(ctlPath),
      },
      registry,
    );
    await vswitchd.start();
    started.push(vswitchd);
    await vsctl(
      '--may-exist',
      'add-br',
      bridge,
      '--',
      'set',
      'Bridge',
      bridge,
      'datapath_type=dummy',
      'fail-mode=secure',
      'other-config:disable-in-band=true',
    );

    // What ovs-vsctl does for a change it waits on, but with no change besides the counter
    // (ovs-vsctl itself does not wait when its transaction changed nothing).
    const waitReconfigured = async (): Promise<void> => {
      const next = Number((await vsctl('get', 'Open_vSwitch', '.', 'next_cfg')).trim()) + 1;
      await vsctl('--no-wait', 'set', 'Open_vSwitch', '.', `next_cfg=${next}`);
      await waitUntil(
        async () => Number((await vsctl('get', 'Open_vSwitch', '.', 'cur_cfg')).trim()) >= next,
        {
          description: `ovs-vswitchd ${name} to apply configuration ${next}`,
          timeoutMs: 20_000,
        },
      );
    };
    const appctl = async (...args: string[]): Promise<string> =>
      (await runCommand('ovs-appctl', ['--timeout=10', '-t', ctlPath, ...args], { env: nodeEnv })).stdout;
    let stopped = false;
    const node: Vswitchd = {
      dir: nodeDir,
      name,
      bridge,
      ovsdb,
      dbRemote,
      vswitchd,
      env: nodeEnv,
      vsctl,
      appctl,
      ofctl: async (...args) => (await runCommand('ovs-ofctl', args, { env: nodeEnv })).stdout,
      interfaces: async () => parseCtlTable(await vsctl('--format=json', '--data=json', 'list', 'Interface')),
      waitReconfigured,
      async restartVswitchd() {
        await vswitchd.restart();
        await waitReconfigured();
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        registry.untrack(node);
        await stopAllReverse(started);
        await removeWorkDir(workDir);
      },
    };
    if (workDir.owned) registry.track(node);
    return node;
  } catch (error) {
    await stopAllReverse(started);
    await removeWorkDir(workDir);
    throw error;
  }
}
