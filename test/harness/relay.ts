/**
 * An ovsdb relay (`ovsdb-server relay:<db>:<upstream remotes>`, Open vSwitch 2.16+): a server with
 * no database file of its own that serves clients from a copy it monitors on the upstream
 * (standalone or clustered) and forwards their transactions there. Ready means it answers on its
 * client remotes and its `_Server` row says the database is connected to the upstream.
 */
import { launchOvsdbServer, schemaName, type OvsdbServer, type RemoteKind } from './ovsdb-server.js';
import { defaultRegistry, type ProcessRegistry } from './process.js';
import { makeWorkDir, removeWorkDir } from './tempdir.js';
import { waitUntil } from './wait.js';

export interface OvsdbRelayOptions {
  /** Schema file of the relayed database (for its name; the relay takes the schema from upstream). */
  readonly schema: string;
  /** Upstream remote(s), comma-joined as ovsdb-server takes them (e.g. a cluster's member list). */
  readonly upstream: string;
  /** Client remotes; default `['punix', 'ptcp']`. */
  readonly remotes?: readonly RemoteKind[];
  /** Short name for files and messages; default `relay`. */
  readonly name?: string;
  /** Parent directory; by default a fresh private temp dir owned (and removed) by the relay. */
  readonly dir?: string;
  readonly registry?: ProcessRegistry;
}

/** Starts a relay of `schema`'s database in front of `upstream`. */
export async function startOvsdbRelay(options: OvsdbRelayOptions): Promise<OvsdbServer> {
  const name = options.name ?? 'relay';
  const workDir = await makeWorkDir(`h-${name}`, options.dir, name);
  const registry = options.registry ?? defaultRegistry();
  try {
    const dbName = await schemaName(options.schema);
    const server = await launchOvsdbServer({
      workDir,
      name,
      dbPath: `relay:${dbName}:${options.upstream}`,
      schemaPath: options.schema,
      remotes: options.remotes ?? ['punix', 'ptcp'],
      pki: undefined,
      registry,
    });
    try {
      await waitUntil(
        async () =>
          (
            await server.client(
              'query',
              server.remote,
              JSON.stringify([
                '_Server',
                { op: 'select', table: 'Database', where: [['name', '==', dbName]], columns: ['connected'] },
              ]),
            )
          ).includes('"connected":true'),
        { description: `relay ${name} to connect to ${options.upstream}`, timeoutMs: 20_000 },
      );
    } catch (error) {
      await server.stop();
      throw error;
    }
    if (workDir.owned) registry.track(server);
    return server;
  } catch (error) {
    await removeWorkDir(workDir);
    throw error;
  }
}
