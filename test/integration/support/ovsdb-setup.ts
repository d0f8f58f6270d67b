/**
 * Suite setup shared by the OvsdbClient integration tests: a real standalone ovsdb-server with the
 * Open_vSwitch schema, and a factory of clients that the suite closes in `afterAll`.
 */
import { expect } from 'vitest';
import { startOvsdbServer, useHarness, VSWITCH_SCHEMA } from '../../harness/index.js';
import type { OvsdbServer, SuiteHooks } from '../../harness/index.js';
import { OvsdbClient } from '../../../src/ovsdb/index.js';
import type { OvsdbClientOptions, Row } from '../../../src/ovsdb/index.js';

/** Builds a client from the suite's defaults overridden (shallowly) by `extra`. */
export type OvsdbClientFactory = (
  extra?: Partial<OvsdbClientOptions>,
  options?: { start?: boolean },
) => OvsdbClient;

/**
 * Returns a factory of clients built from `defaults()` (read when a client is made, so it may use
 * a harness getter) and closed together in `afterAll`. Clients are started unless
 * `{ start: false }` is passed, for a test that must act before `start()` or never start.
 */
export function useOvsdbClients(
  hooks: Pick<SuiteHooks, 'afterAll'>,
  defaults: () => OvsdbClientOptions,
): OvsdbClientFactory {
  const clients: OvsdbClient[] = [];
  hooks.afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
  });
  return (extra = {}, { start = true } = {}) => {
    const c = new OvsdbClient({ ...defaults(), ...extra });
    clients.push(c);
    if (start) c.start();
    return c;
  };
}

/**
 * A standalone ovsdb-server (Open_vSwitch schema, unix and tcp remotes) for the suite, and a client
 * factory whose defaults are its unix remote, database Open_vSwitch, the root, bridge, port and
 * interface tables, then `clientDefaults`.
 */
export function useStandaloneVswitch(
  hooks: SuiteHooks,
  name: string,
  clientDefaults: Partial<OvsdbClientOptions> = {},
): { server: () => OvsdbServer; client: OvsdbClientFactory } {
  const server = useHarness(hooks, () =>
    startOvsdbServer({ schema: VSWITCH_SCHEMA, name, remotes: ['punix', 'ptcp'] }),
  );
  const client = useOvsdbClients(hooks, () => ({
    remotes: server().unixRemote as string,
    database: 'Open_vSwitch',
    tables: { Open_vSwitch: {}, Bridge: {}, Port: {}, Interface: {} },
    ...clientDefaults,
  }));
  return { server, client };
}

/** Waits for `c` to sync and returns the uuid of the Open_vSwitch root row, inserting it if absent. */
export async function vswitchRootUuid(c: OvsdbClient): Promise<string> {
  await c.ready();
  const root = c.table('Open_vSwitch').all()[0];
  if (root !== undefined) return root._uuid;
  const outcome = await c.transact((tx) => {
    tx.insert('Open_vSwitch', {});
  });
  expect(outcome.status).toBe('success');
  return (c.table('Open_vSwitch').all()[0] as Row)._uuid;
}
