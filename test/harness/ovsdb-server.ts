/**
 * Standalone (and, through raft.ts, clustered) `ovsdb-server` instances in a private directory,
 * with the tools to talk to them: `ovsdb-client` and `ovs-appctl`.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { toolEnv } from './env.js';
import { runCommand } from './exec.js';
import { canConnectUnix, listeningPortsInLog } from './net.js';
import type { Pki } from './pki.js';
import { defaultRegistry, type ProcessRegistry, type Stoppable, SupervisedProcess } from './process.js';
import { makeWorkDir, removeWorkDir, type WorkDir } from './tempdir.js';
import { waitUntil } from './wait.js';

/** Kinds of listening remote a server can offer to clients. */
export type RemoteKind = 'punix' | 'ptcp' | 'pssl';
const REMOTE_KINDS: readonly string[] = ['punix', 'ptcp', 'pssl'];

export interface OvsdbServerOptions {
  /** Path of the `.ovsschema` to create the database from (e.g. /usr/share/ovn/ovn-sb.ovsschema). */
  readonly schema: string;
  /** Client remotes to listen on; default `['punix', 'ptcp']`. TCP and SSL bind 127.0.0.1. */
  readonly remotes?: readonly RemoteKind[];
  /** Short name for files and messages; default `ovsdb`. */
  readonly name?: string;
  /** Certificates for `pssl` (required with it): server cert/key, and the CA clients must chain to. */
  readonly pki?: Pki;
  /** Parent directory; by default a fresh private temp dir owned (and removed) by this server. */
  readonly dir?: string;
  /** With `dir`: put the files in `dir` itself instead of `dir/<name>` (default true = subdirectory). */
  readonly subdir?: boolean;
  readonly registry?: ProcessRegistry;
}

/** A running ovsdb-server; addresses are fixed for its lifetime, restarts included. */
export interface OvsdbServer extends Stoppable {
  readonly name: string;
  /** Directory holding the DB file, sockets, pid file and logs. */
  readonly dir: string;
  /** Database name from the schema (e.g. `OVN_Southbound`). */
  readonly dbName: string;
  readonly dbPath: string;
  readonly schemaPath: string;
  /** `unix:<dir>/db.sock`, when `punix` was asked for. */
  readonly unixRemote: string | undefined;
  /** `tcp:127.0.0.1:<port>`, when `ptcp` was asked for. */
  readonly tcpRemote: string | undefined;
  /** `ssl:127.0.0.1:<port>`, when `pssl` was asked for. */
  readonly sslRemote: string | undefined;
  /** The first of unix, tcp, ssl remote that exists: what local tools use. */
  readonly remote: string;
  /** `ovs-appctl -t` target. */
  readonly ctlPath: string;
  readonly logPath: string;
  readonly process: SupervisedProcess;
  /** Environment that confines OVS tools to this server's directory. */
  readonly env: Readonly<Record<string, string>>;
  /** Runs `ovs-appctl -t <ctl> ...args`; resolves with stdout. */
  appctl(...args: string[]): Promise<string>;
  /** Runs `ovsdb-client ...args` (give the remote yourself); resolves with stdout. */
  client(...args: string[]): Promise<string>;
  /** `ovsdb-client backup` of the database: a standalone snapshot, as an operator takes it. */
  backup(): Promise<string>;
  /**
   * `ovsdb-client restore` of a snapshot into the running server: one transaction that replaces
   * every row (rows get new UUIDs), as an operator restores an old backup.
   */
  restore(snapshot: string): Promise<void>;
  /**
   * Replaces the database file by a snapshot while the server is stopped (row UUIDs kept), as an
   * operator restores a standalone database by hand; start the server afterwards.
   */
  restoreFile(snapshot: string): Promise<void>;
  /** Runs one transaction through `ovsdb-client transact`; rejects when any operation failed. */
  transact(operations: readonly object[]): Promise<OperationResult[]>;
  /** `ovsdb-client dump --format=json` of the given tables (all when none), parsed. */
  dump(...tables: string[]): Promise<DumpedTable[]>;
  /** Rows of `table` matching `where` (RFC 7047 conditions), columns in OVSDB JSON notation. */
  select(table: string, where?: readonly unknown[]): Promise<Record<string, unknown>[]>;
  pause(): void;
  resume(): void;
  kill9(): Promise<void>;
  /** Starts again on the same database file, sockets and ports. */
  restart(): Promise<void>;
}

/** One table of an `ovsdb-client dump --format=json`; `data` rows follow `headings`. */
export interface DumpedTable {
  /** e.g. `Bridge table`. */
  readonly caption: string;
  readonly headings: readonly string[];
  readonly data: readonly (readonly unknown[])[];
}

/** One element of a transaction's result array (RFC 7047 §4.1.3). */
export type OperationResult = Readonly<Record<string, unknown>>;

/** Starts a standalone ovsdb-server on a fresh database created from `options.schema`. */
export async function startOvsdbServer(options: OvsdbServerOptions): Promise<OvsdbServer> {
  const name = options.name ?? 'ovsdb';
  const workDir: WorkDir =
    options.dir !== undefined && options.subdir === false
      ? { path: options.dir, owned: false }
      : await makeWorkDir(`h-${name}`, options.dir, name);
  const registry = options.registry ?? defaultRegistry();
  try {
    const env = toolEnv(workDir.path);
    const dbPath = join(workDir.path, `${name}.db`);
    await runCommand('ovsdb-tool', ['create', dbPath, options.schema], { env });
    const server = await launchOvsdbServer({
      workDir,
      name,
      dbPath,
      schemaPath: options.schema,
      remotes: options.remotes ?? ['punix', 'ptcp'],
      pki: options.pki,
      registry,
    });
    if (workDir.owned) registry.track(server);
    return server;
  } catch (error) {
    await removeWorkDir(workDir);
    throw error;
  }
}

export interface LaunchOptions {
  readonly workDir: WorkDir;
  readonly name: string;
  /** Existing database file (standalone or clustered). */
  readonly dbPath: string;
  readonly schemaPath: string;
  readonly remotes: readonly RemoteKind[];
  readonly pki: Pki | undefined;
  readonly registry: ProcessRegistry;
  /** Readiness deadline; clustered members may wait for an election. */
  readonly readyTimeoutMs?: number;
}

/** Starts ovsdb-server on an existing database file (shared by standalone and Raft members). */
export async function launchOvsdbServer(options: LaunchOptions): Promise<OvsdbServer> {
  const { workDir, name, registry } = options;
  const dir = workDir.path;
  const env = toolEnv(dir);
  const badRemote = options.remotes.find((kind) => !REMOTE_KINDS.includes(kind));
  if (badRemote !== undefined) {
    throw new Error(
      `ovsdb-server ${name}: unknown remote kind ${JSON.stringify(badRemote)} (use ${REMOTE_KINDS.join(', ')})`,
    );
  }
  if (options.remotes.length === 0) throw new Error(`ovsdb-server ${name}: no client remote requested`);
  if (options.remotes.includes('pssl') && options.pki === undefined) {
    throw new Error(`ovsdb-server ${name}: remote 'pssl' needs the 'pki' option`);
  }
  const dbName = await schemaName(options.schemaPath);
  const sockPath = join(dir, 'db.sock');
  const ctlPath = join(dir, `${name}.ctl`);
  const logPath = join(dir, `${name}.log`);
  const wantUnix = options.remotes.includes('punix');
  const wantTcp = options.remotes.includes('ptcp');
  const wantSsl = options.remotes.includes('pssl');
  const pki = options.pki;
  let tcpPort: number | undefined;
  let sslPort: number | undefined;

  const argsWith = (remotes: readonly string[]): string[] => [
    options.dbPath,
    ...remotes.map((remote) => `--remote=${remote}`),
    `--unixctl=${ctlPath}`,
    `--pidfile=${join(dir, `${name}.pid`)}`,
    `--log-file=${logPath}`,
    ...(pki
      ? [`--private-key=${pki.serverKey}`, `--certificate=${pki.serverCert}`, `--ca-cert=${pki.caCert}`]
      : []),
  ];
  const initialRemotes = [
    ...(wantUnix ? [`punix:${sockPath}`] : []),
    ...(wantTcp ? ['ptcp:0:127.0.0.1'] : []),
  ];
  const portsBefore = (await listeningPortsInLog(logPath)).length;

  const serverProcess = new SupervisedProcess(
    {
      name,
      command: 'ovsdb-server',
      args: argsWith(initialRemotes),
      dir,
      env,
      logFiles: [logPath],
      readyTimeoutMs: options.readyTimeoutMs,
      ready: async () => {
        if (!(await canConnectUnix(ctlPath))) return false;
        if (wantUnix && !(await canConnectUnix(sockPath))) return false;
        if (tcpPort === undefined)
          return !wantTcp || (await listeningPortsInLog(logPath)).length > portsBefore;
        return (await canConnectTcp(tcpPort)) && (sslPort === undefined || (await canConnectTcp(sslPort)));
      },
    },
    registry,
  );
  await serverProcess.start();

  const appctl = async (...args: string[]): Promise<string> =>
    (await runCommand('ovs-appctl', ['--timeout=10', '-t', ctlPath, ...args], { env })).stdout;

  try {
    if (wantTcp) tcpPort = (await listeningPortsInLog(logPath))[portsBefore];
    if (wantSsl) {
      // Added after start, alone, so that the next "listening on port" line is unambiguous.
      const before = (await listeningPortsInLog(logPath)).length;
      await appctl('ovsdb-server/add-remote', 'pssl:0:127.0.0.1');
      sslPort = await waitUntil(async () => (await listeningPortsInLog(logPath))[before], {
        description: `${name} to listen on its SSL remote`,
      });
    }
  } catch (error) {
    await serverProcess.stop();
    throw error;
  }
  serverProcess.setArgs(
    argsWith([
      ...(wantUnix ? [`punix:${sockPath}`] : []),
      ...(tcpPort !== undefined ? [`ptcp:${tcpPort}:127.0.0.1`] : []),
      ...(sslPort !== undefined ? [`pssl:${sslPort}:127.0.0.1`] : []),
    ]),
  );

  const unixRemote = wantUnix ? `unix:${sockPath}` : undefined;
  const tcpRemote = tcpPort !== undefined ? `tcp:127.0.0.1:${tcpPort}` : undefined;
  const sslRemote = sslPort !== undefined ? `ssl:127.0.0.1:${sslPort}` : undefined;
  const remote = unixRemote ?? tcpRemote ?? sslRemote ?? '';
  const sslClientArgs = pki
    ? [`--private-key=${pki.clientKey}`, `--certificate=${pki.clientCert}`, `--ca-cert=${pki.caCert}`]
    : [];
  const client = async (...args: string[]): Promise<string> =>
    (await runCommand('ovsdb-client', [...sslClientArgs, '--timeout=20', ...args], { env })).stdout;
  const backup = async (): Promise<string> => client('backup', remote, dbName);
  const restore = async (snapshot: string): Promise<void> => {
    // ovsdb-client seeks in its input: give it a file, not a pipe.
    const file = join(dir, `restore-${Date.now()}.db`);
    await writeFile(file, snapshot);
    const args = [...sslClientArgs, '--timeout=20', 'restore', remote, dbName];
    await runCommand('sh', ['-c', 'exec ovsdb-client "$@" < "$0"', file, ...args], { env });
    await rm(file, { force: true });
  };
  const transact = async (operations: readonly object[]): Promise<OperationResult[]> =>
    parseTransactReply(await client('transact', remote, JSON.stringify([dbName, ...operations])), operations);

  let stopped = false;
  const server: OvsdbServer = {
    name,
    dir,
    dbName,
    dbPath: options.dbPath,
    schemaPath: options.schemaPath,
    unixRemote,
    tcpRemote,
    sslRemote,
    remote,
    ctlPath,
    logPath,
    process: serverProcess,
    env,
    appctl,
    client,
    backup,
    restore,
    async restoreFile(snapshot) {
      if (serverProcess.running) throw new Error(`stop ${name} before replacing its database file`);
      await writeFile(options.dbPath, snapshot);
    },
    transact,
    async dump(...tables) {
      const stdout = await client('dump', '--format=json', remote, dbName, ...tables);
      // One JSON object per table, one per line.
      return stdout
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => parseDumpedTable(line));
    },
    async select(table, where = []) {
      const [result] = await transact([{ op: 'select', table, where }]);
      const rows = result?.['rows'];
      if (!Array.isArray(rows))
        throw new Error(`select on ${table}: reply has no rows: ${JSON.stringify(result)}`);
      return rows.filter(isRecord);
    },
    pause: () => serverProcess.pause(),
    resume: () => serverProcess.resume(),
    kill9: () => serverProcess.kill9(),
    restart: () => serverProcess.restart(),
    async stop() {
      if (stopped) return;
      stopped = true;
      registry.untrack(server);
      await serverProcess.stop();
      await removeWorkDir(workDir);
    },
  };
  return server;
}

function parseTransactReply(stdout: string, operations: readonly object[]): OperationResult[] {
  const reply: unknown = JSON.parse(stdout);
  if (!Array.isArray(reply)) throw new Error(`ovsdb-client transact: unexpected reply ${stdout}`);
  const results = reply.map((r): OperationResult => (isRecord(r) ? r : {}));
  const failed = results.findIndex((r) => r['error'] !== undefined);
  if (failed >= 0) {
    const op = JSON.stringify(operations[failed] ?? null);
    throw new Error(`transaction failed at operation ${failed} ${op}: ${JSON.stringify(results[failed])}`);
  }
  return results;
}

function parseDumpedTable(line: string): DumpedTable {
  const table: unknown = JSON.parse(line);
  if (
    !isRecord(table) ||
    typeof table['caption'] !== 'string' ||
    !Array.isArray(table['headings']) ||
    !Array.isArray(table['data'])
  ) {
    throw new Error(`ovsdb-client dump: unexpected table ${line.slice(0, 200)}`);
  }
  return {
    caption: table['caption'],
    headings: table['headings'].map(String),
    data: table['data'].filter((row): row is unknown[] => Array.isArray(row)),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The database name declared by an `.ovsschema` file. */
export async function schemaName(schemaPath: string): Promise<string> {
  const schema: unknown = JSON.parse(await readFile(schemaPath, 'utf8'));
  if (!isRecord(schema) || typeof schema['name'] !== 'string') {
    throw new Error(`schema ${schemaPath} has no "name"`);
  }
  return schema['name'];
}

function canConnectTcp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
