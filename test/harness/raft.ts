/**
 * A clustered (Raft) ovsdb-server database on loopback TCP: member 1 creates the cluster with
 * `ovsdb-tool create-cluster`, the others `join-cluster` it; ready means every member reports
 * the database connected to the cluster and one member is leader.
 */
import { join } from 'node:path';
import { toolEnv } from './env.js';
import { runCommand } from './exec.js';
import { pickFreePort } from './net.js';
import { launchOvsdbServer, schemaName, type OvsdbServer, type RemoteKind } from './ovsdb-server.js';
import { defaultRegistry, type ProcessRegistry, type Stoppable } from './process.js';
import { makeWorkDir, removeWorkDir } from './tempdir.js';
import { waitUntil } from './wait.js';

export interface RaftClusterOptions {
  readonly schema: string;
  /** Number of members; default 3. */
  readonly members?: number;
  /** Name for the directory and member names (`<name>1`, `<name>2`, ...); default `raft`. */
  readonly name?: string;
  /** Client remotes of each member; default `['punix', 'ptcp']` (TCP is what clients get). */
  readonly remotes?: readonly RemoteKind[];
  /** Parent directory; by default a fresh private temp dir owned (and removed) by this cluster. */
  readonly dir?: string;
  readonly registry?: ProcessRegistry;
}

/** What `cluster/status` says about one member. */
export interface RaftMemberStatus {
  /** Short server id as printed first by cluster/status. */
  readonly serverId: string;
  /** e.g. `cluster member`, `joining cluster`, `disconnected from the cluster (election timeout)`. */
  readonly status: string;
  /** `leader`, `follower` or `candidate`. */
  readonly role: string;
  readonly term: number;
  /** Leader's short server id, `self`, or `unknown`. */
  readonly leader: string;
}

export interface RaftMember {
  /** 1-based position in the cluster. */
  readonly index: number;
  readonly server: OvsdbServer;
  /** Raft (server-to-server) address, `tcp:127.0.0.1:<port>`. */
  readonly raftAddress: string;
  /** Client remote over TCP. */
  readonly remote: string;
  /** `ovs-appctl -t` target of this member. */
  readonly ctlPath: string;
  /** Process id of the running member (throws when it is not running). */
  readonly pid: number;
  status(): Promise<RaftMemberStatus>;
  pause(): void;
  resume(): void;
  kill9(): Promise<void>;
  /** Starts the member again on its database file and addresses (after kill9 or stop). */
  restart(): Promise<void>;
}

export interface RaftCluster extends Stoppable {
  readonly dir: string;
  readonly dbName: string;
  readonly members: readonly RaftMember[];
  /** Comma-joined client TCP remotes of all members, as OVN clients take them. */
  readonly remote: string;
  /** The current leader, waiting (up to `timeoutMs`) for one to be elected. */
  leader(timeoutMs?: number): Promise<RaftMember>;
  /**
   * Makes the current leader hand over (`cluster/failure-test transfer-leadership`) and resolves
   * with the new leader, a different member in a later term.
   */
  transferLeadership(): Promise<RaftMember>;
  /** Waits until every running member reports the database connected and a leader exists. */
  waitHealthy(timeoutMs?: number): Promise<void>;
}

/** Creates and starts a Raft cluster of `members` ovsdb-servers. */
export async function startRaftCluster(options: RaftClusterOptions): Promise<RaftCluster> {
  const name = options.name ?? 'raft';
  const count = options.members ?? 3;
  if (!Number.isInteger(count) || count < 1) throw new Error(`raft cluster: invalid member count ${count}`);
  const workDir = await makeWorkDir(`h-${name}`, options.dir, name);
  const registry = options.registry ?? defaultRegistry();
  const dbName = await schemaName(options.schema);
  const members: RaftMember[] = [];
  try {
    const ports = await distinctFreePorts(count);
    const addresses = ports.map((port) => `tcp:127.0.0.1:${port}`);
    const memberDirs = await Promise.all(
      addresses.map((_, i) => makeWorkDir(name, workDir.path, `${name}${i + 1}`)),
    );
    const dbPaths = memberDirs.map((d, i) => join(d.path, `${name}${i + 1}.db`));
    const env = toolEnv(workDir.path);
    await runCommand('ovsdb-tool', ['create-cluster', at(dbPaths, 0), options.schema, at(addresses, 0)], {
      env,
    });
    for (let i = 1; i < count; i++) {
      await runCommand(
        'ovsdb-tool',
        ['join-cluster', at(dbPaths, i), dbName, at(addresses, i), at(addresses, 0)],
        { env },
      );
    }
    const servers = await Promise.all(
      memberDirs.map((memberDir, i) =>
        launchOvsdbServer({
          workDir: memberDir,
          name: `${name}${i + 1}`,
          dbPath: at(dbPaths, i),
          schemaPath: options.schema,
          remotes: options.remotes ?? ['punix', 'ptcp'],
          pki: undefined,
          registry,
        }),
      ),
    );
    servers.forEach((server, i) => {
      const remote = server.tcpRemote ?? server.remote;
      members.push({
        index: i + 1,
        server,
        raftAddress: at(addresses, i),
        remote,
        ctlPath: server.ctlPath,
        get pid() {
          return server.process.pid;
        },
        status: async () => parseClusterStatus(await server.appctl('cluster/status', dbName)),
        pause: () => server.pause(),
        resume: () => server.resume(),
        kill9: () => server.kill9(),
        restart: () => server.restart(),
      });
    });

    const runningMembers = (): RaftMember[] => members.filter((m) => m.server.process.running);
    const findLeader = async (): Promise<RaftMember | undefined> => {
      for (const member of runningMembers()) {
        try {
          const status = await member.status();
          if (status.role === 'leader' && status.status === 'cluster member') return member;
        } catch {
          // A paused or dying member cannot answer; another may be the leader.
        }
      }
      return undefined;
    };
    const leader = (timeoutMs = 15_000): Promise<RaftMember> =>
      waitUntil(findLeader, { description: `a leader in cluster ${name}`, timeoutMs });
    const waitHealthy = async (timeoutMs = 20_000): Promise<void> => {
      await Promise.all(
        runningMembers().map((member) =>
          member.server.client(
            `--timeout=${Math.ceil(timeoutMs / 1000)}`,
            'wait',
            member.server.remote,
            dbName,
            'connected',
          ),
        ),
      );
      await leader(timeoutMs);
    };
    await waitHealthy();

    let stopped = false;
    const cluster: RaftCluster = {
      dir: workDir.path,
      dbName,
      members,
      remote: members.map((m) => m.remote).join(','),
      leader,
      waitHealthy,
      async transferLeadership() {
        const old = await leader();
        const oldTerm = (await old.status()).term;
        await old.server.appctl('cluster/failure-test', 'transfer-leadership');
        return waitUntil(
          async () => {
            const current = await findLeader();
            if (current === undefined || current === old) return undefined;
            return (await current.status()).term > oldTerm ? current : undefined;
          },
          { description: `leadership of ${name} to move away from member ${old.index}`, timeoutMs: 15_000 },
        );
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        registry.untrack(cluster);
        await Promise.all(members.map((m) => m.server.stop()));
        await removeWorkDir(workDir);
      },
    };
    if (workDir.owned) registry.track(cluster);
    return cluster;
  } catch (error) {
    await Promise.all(members.map((m) => m.server.stop()));
    await removeWorkDir(workDir);
    throw error;
  }
}

/** Parses `ovs-appctl cluster/status <db>` output. */
export function parseClusterStatus(text: string): RaftMemberStatus {
  const field = (label: string): string => {
    const match = new RegExp(`^${label}: (.*)$`, 'm').exec(text);
    return match?.[1]?.trim() ?? '';
  };
  return {
    serverId: text.split('\n', 1)[0]?.trim() ?? '',
    status: field('Status'),
    role: field('Role'),
    term: Number(field('Term') || '0'),
    leader: field('Leader'),
  };
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await pickFreePort());
  return [...ports];
}

function at<T>(items: readonly T[], index: number): T {
  const item = items[index];
  if (item === undefined) throw new Error(`index ${index} out of range`);
  return item;
}
