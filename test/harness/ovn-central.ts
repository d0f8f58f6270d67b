/**
 * The OVN central trio in a private directory: Northbound and Southbound ovsdb-servers and
 * `ovn-northd` connected to both. Ready means northd has processed the NB database into the SB
 * one (`ovn-nbctl --wait=sb sync` returned).
 */
import { join } from 'node:path';
import { toolEnv } from './env.js';
import { runCommand } from './exec.js';
import { canConnectUnix } from './net.js';
import { startOvsdbServer, type OvsdbServer, type RemoteKind } from './ovsdb-server.js';
import type { Pki } from './pki.js';
import { defaultRegistry, type ProcessRegistry, type Stoppable, SupervisedProcess } from './process.js';
import { startRaftCluster, type RaftCluster } from './raft.js';
import { makeWorkDir, removeWorkDir } from './tempdir.js';

export const OVN_NB_SCHEMA = '/usr/share/ovn/ovn-nb.ovsschema';
export const OVN_SB_SCHEMA = '/usr/share/ovn/ovn-sb.ovsschema';

export interface OvnCentralOptions {
  /** Run the SB database as a 3-member Raft cluster instead of a standalone server. */
  readonly sbCluster?: boolean;
  /** Client remotes of the standalone NB and SB servers; default `['punix', 'ptcp']`. */
  readonly remotes?: readonly RemoteKind[];
  /** Needed when `remotes` includes `pssl`. */
  readonly pki?: Pki;
  /** Parent directory; by default a fresh private temp dir owned (and removed) by this component. */
  readonly dir?: string;
  readonly registry?: ProcessRegistry;
}

export interface OvnCentral extends Stoppable {
  readonly dir: string;
  readonly nb: OvsdbServer;
  /** The standalone SB server; undefined when the SB is a cluster. */
  readonly sb: OvsdbServer | undefined;
  /** The SB cluster when `sbCluster` was asked for. */
  readonly sbCluster: RaftCluster | undefined;
  /** NB remote for local tools (`unix:` path). */
  readonly nbRemote: string;
  /** SB remote for clients: a `unix:` path, or for a cluster the comma-joined member list (tcp). */
  readonly sbRemote: string;
  /** `tcp:127.0.0.1:<port>` of the NB, when listening on TCP. */
  readonly nbTcpRemote: string | undefined;
  /** TCP remote(s) of the SB: one for a standalone server, the comma-joined list for a cluster. */
  readonly sbTcpRemote: string | undefined;
  /** `ssl:127.0.0.1:<port>` of the NB, when listening on SSL. */
  readonly nbSslRemote: string | undefined;
  /** `ssl:127.0.0.1:<port>` of the standalone SB, when listening on SSL. */
  readonly sbSslRemote: string | undefined;
  readonly northd: SupervisedProcess;
  readonly env: Readonly<Record<string, string>>;
  /** `ovn-nbctl --db=<nb> ...args`; resolves with stdout. */
  nbctl(...args: string[]): Promise<string>;
  /** `ovn-sbctl --db=<sb> ...args` (leader-only for a cluster, as ovn-sbctl defaults). */
  sbctl(...args: string[]): Promise<string>;
  /** `ovn-nbctl --wait=sb ...args`: returns after northd has put the change into the SB. */
  nbctlWaitSb(...args: string[]): Promise<string>;
  /** `ovn-nbctl --wait=hv ...args`: returns after every chassis has caught up with the change. */
  nbctlWaitHv(...args: string[]): Promise<string>;
  /** Restarts ovn-northd alone. */
  restartNorthd(): Promise<void>;
}

/** Starts NB, SB (standalone or clustered) and ovn-northd. */
export async function startOvnCentral(options: OvnCentralOptions = {}): Promise<OvnCentral> {
  const workDir = await makeWorkDir('h-central', options.dir, 'central');
  const registry = options.registry ?? defaultRegistry();
  const dir = workDir.path;
  const env = toolEnv(dir);
  const remotes = options.remotes ?? ['punix', 'ptcp'];
  const started: Stoppable[] = [];
  try {
    const nb = await startOvsdbServer({
      schema: OVN_NB_SCHEMA,
      name: 'nb',
      dir,
      remotes,
      pki: options.pki,
      registry,
    });
    started.push(nb);
    let sb: OvsdbServer | undefined;
    let sbCluster: RaftCluster | undefined;
    if (options.sbCluster) {
      sbCluster = await startRaftCluster({ schema: OVN_SB_SCHEMA, name: 'sb', dir, members: 3, registry });
      started.push(sbCluster);
    } else {
      sb = await startOvsdbServer({
        schema: OVN_SB_SCHEMA,
        name: 'sb',
        dir,
        remotes,
        pki: options.pki,
        registry,
      });
      started.push(sb);
    }
    const sbRemote = sbCluster ? sbCluster.remote : (sb?.remote ?? '');
    const sbTcpRemote = sbCluster ? sbCluster.remote : sb?.tcpRemote;
    const sslArgs = options.pki
      ? [
          `--private-key=${options.pki.clientKey}`,
          `--certificate=${options.pki.clientCert}`,
          `--ca-cert=${options.pki.caCert}`,
        ]
      : [];

    const northdCtl = join(dir, 'ovn-northd.ctl');
    const northdLog = join(dir, 'ovn-northd.log');
    const northd = new SupervisedProcess(
      {
        name: 'ovn-northd',
        command: 'ovn-northd',
        args: [
          `--ovnnb-db=${nb.remote}`,
          `--ovnsb-db=${sbRemote}`,
          `--unixctl=${northdCtl}`,
          `--pidfile=${join(dir, 'ovn-northd.pid')}`,
          `--log-file=${northdLog}`,
          '-vconsole:err',
          ...sslArgs,
        ],
        dir,
        env,
        logFiles: [northdLog],
        ready: () => canConnectUnix(northdCtl),
      },
      registry,
    );
    const nbctl = async (...args: string[]): Promise<string> =>
      (
        await runCommand('ovn-nbctl', [...sslArgs, `--db=${nb.remote}`, '--timeout=30', ...args], {
          env,
          timeoutMs: 40_000,
        })
      ).stdout;
    const sbctl = async (...args: string[]): Promise<string> =>
      (
        await runCommand('ovn-sbctl', [...sslArgs, `--db=${sbRemote}`, '--timeout=30', ...args], {
          env,
          timeoutMs: 40_000,
        })
      ).stdout;
    await nbctl('init');
    await northd.start();
    started.push(northd);
    try {
      await nbctl('--wait=sb', 'sync');
    } catch (error) {
      throw new Error(`ovn-northd did not sync NB to SB\n${northd.logTail()}`, { cause: error });
    }

    let stopped = false;
    const central: OvnCentral = {
      dir,
      nb,
      sb,
      sbCluster,
      nbRemote: nb.remote,
      sbRemote,
      nbTcpRemote: nb.tcpRemote,
      sbTcpRemote,
      nbSslRemote: nb.sslRemote,
      sbSslRemote: sb?.sslRemote,
      northd,
      env,
      nbctl,
      sbctl,
      nbctlWaitSb: (...args) => nbctl('--wait=sb', ...args),
      nbctlWaitHv: (...args) => nbctl('--wait=hv', ...args),
      async restartNorthd() {
        await northd.restart();
        await nbctl('--wait=sb', 'sync');
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        registry.untrack(central);
        await stopAllReverse(started);
        await removeWorkDir(workDir);
      },
    };
    if (workDir.owned) registry.track(central);
    return central;
  } catch (error) {
    await stopAllReverse(started);
    await removeWorkDir(workDir);
    throw error;
  }
}

/** Stops components newest first, carrying on past failures and rethrowing them together. */
export async function stopAllReverse(components: readonly Stoppable[]): Promise<void> {
  const errors: unknown[] = [];
  for (const component of [...components].reverse()) {
    try {
      await component.stop();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, 'stopping harness components failed');
}
