/**
 * `OvsdbClient.setRemotes` against two real standalone ovsdb-servers (Open_vSwitch schema): the
 * agent follows `external_ids:ovn-remote` with it (DESIGN §3.5a).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOvsdbServer, useHarness, VSWITCH_SCHEMA, waitUntil } from '../harness/index.js';
import { useOvsdbClients, vswitchRootUuid } from './support/ovsdb-setup.js';
import { mutation, RemoteSyntaxError, type ClientState, type OvsdbClient } from '../../src/ovsdb/index.js';

const hooks = { beforeAll, afterAll };
const first = useHarness(hooks, () =>
  startOvsdbServer({ schema: VSWITCH_SCHEMA, name: 'first', remotes: ['punix', 'ptcp'] }),
);
const second = useHarness(hooks, () =>
  startOvsdbServer({ schema: VSWITCH_SCHEMA, name: 'second', remotes: ['punix', 'ptcp'] }),
);
const client = useOvsdbClients(hooks, () => ({
  remotes: first().unixRemote as string,
  database: 'Open_vSwitch',
  tables: { Open_vSwitch: {}, Bridge: {} },
  backoff: { minMs: 5_000, maxMs: 8_000 },
}));

/** Inserts a bridge named `name` through `c`, so each server's content can be told apart. */
async function addBridge(c: OvsdbClient, name: string): Promise<void> {
  const root = await vswitchRootUuid(c);
  const outcome = await c.transact((tx) => {
    const br = tx.insert('Bridge', { name });
    tx.mutate('Open_vSwitch', root, [mutation('bridges', 'insert', [br])]);
  });
  expect(outcome.status).toBe('success');
}

const bridgeNames = (c: OvsdbClient): string[] =>
  c
    .table('Bridge')
    .all()
    .map((r) => r['name'] as string);

describe('OvsdbClient.setRemotes', () => {
  it('moves a monitoring client to another server at once, replacing the replica with its content', async () => {
    const seeder = client({ remotes: second().unixRemote as string });
    await addBridge(seeder, 'br-second');
    const c = client();
    await addBridge(c, 'br-first');
    expect(bridgeNames(c)).toEqual(['br-first']);
    const states: ClientState[] = [];
    c.on('state', (s) => states.push(s));
    const started = Date.now();
    expect(c.setRemotes(second().unixRemote as string)).toBe(true);
    await waitUntil(() => c.currentRemote === second().unixRemote && c.state === 'monitoring', {
      description: 'client monitoring the second server',
      timeoutMs: 5_000,
    });
    // No backoff (5 s here) was waited for: the switch is a fresh start, not a failed attempt.
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(states).not.toContain('backoff');
    expect(bridgeNames(c)).toEqual(['br-second']);
  });

  it('keeps the current connection when its remote is still in the new list', async () => {
    const c = client();
    await c.ready();
    const reconnects: string[] = [];
    c.on('reconnect', (info) => reconnects.push(info.remote));
    expect(c.setRemotes([first().unixRemote as string, second().unixRemote as string])).toBe(true);
    // Same list again, in another order: nothing to do.
    expect(c.setRemotes(`${second().unixRemote as string},${first().unixRemote as string}`)).toBe(false);
    await new Promise((r) => setTimeout(r, 300));
    expect(c.currentRemote).toBe(first().unixRemote);
    expect(c.state).toBe('monitoring');
    expect(reconnects).toEqual([]);
  });

  it('leaves a backoff wait for the new remote at once', async () => {
    const c = client({ remotes: 'unix:/nonexistent/db.sock' });
    await waitUntil(() => c.state === 'backoff' || undefined, { description: 'client in backoff' });
    const started = Date.now();
    c.setRemotes(first().tcpRemote as string);
    await c.ready({ signal: AbortSignal.timeout(3_000) });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(c.currentRemote).toBe(first().tcpRemote);
  });

  it('refuses a malformed list naming the bad remote, and keeps the current one', async () => {
    const c = client();
    await c.ready();
    expect(() => c.setRemotes('tcp:127.0.0.1:6641,bogus')).toThrow(RemoteSyntaxError);
    expect(() => c.setRemotes('tcp:127.0.0.1:6641,bogus')).toThrow(/bogus/);
    expect(c.currentRemote).toBe(first().unixRemote);
    expect(c.state).toBe('monitoring');
  });
});
