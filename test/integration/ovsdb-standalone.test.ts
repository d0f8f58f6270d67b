/**
 * OvsdbClient against a real standalone ovsdb-server (Open_vSwitch schema) over unix and tcp.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VSWITCH_SCHEMA } from '../harness/index.js';
import { useStandaloneVswitch, vswitchRootUuid } from './support/ovsdb-setup.js';
import {
  OvsdbRpcError,
  RpcConnection,
  mutation,
  parseRemote,
  where,
  ZERO_UUID,
} from '../../src/ovsdb/index.js';
import type { ChangeBatch, Row } from '../../src/ovsdb/index.js';

const { server, client } = useStandaloneVswitch({ beforeAll, afterAll }, 'ovs');

describe('OvsdbClient on a standalone server', () => {
  it('syncs over unix and reports found=false with the zero last id (D4)', async () => {
    const c = client();
    await c.ready();
    expect(c.state).toBe('monitoring');
    expect(c.monitorMethod).toBe('monitor_cond_since');
    expect(c.lastTransactionId).toBe(ZERO_UUID);
    expect(c.currentRemote).toBe(server().unixRemote);
  });

  it('sees its own insert in the replica when transact resolves, in one batch with resolved references (D7, D8, G8)', async () => {
    const c = client();
    const root = await vswitchRootUuid(c);
    const batches: ChangeBatch[] = [];
    c.on('change', (b) => batches.push(b));
    const outcome = await c.transact((tx) => {
      const iface = tx.insert('Interface', { name: 'vif1', type: 'internal' });
      const port = tx.insert('Port', { name: 'vif1', interfaces: [iface] });
      const br = tx.insert('Bridge', { name: 'br-own', ports: [port] });
      tx.mutate('Open_vSwitch', root, [mutation('bridges', 'insert', [br])]);
    });
    expect(outcome.status).toBe('success');
    if (outcome.status !== 'success') return;
    const port = c.table('Port').find((r) => r['name'] === 'vif1')[0];
    expect(port).toBeDefined();
    const bridge = c.table('Bridge').find((r) => r['name'] === 'br-own')[0] as Row;
    expect(bridge['ports']).toEqual([port?._uuid]);
    expect([...outcome.uuids.values()]).toContain(bridge._uuid);
    expect(batches).toHaveLength(1);
    const t = batches[0]?.tables;
    expect(t?.['Interface']?.inserted).toHaveLength(1);
    expect(t?.['Port']?.inserted).toHaveLength(1);
    expect(t?.['Bridge']?.inserted).toHaveLength(1);
    expect(t?.['Open_vSwitch']?.modified).toHaveLength(1);
  });

  it('round-trips braces, quotes and backslashes in strings over tcp (A2)', async () => {
    const c = client({ remotes: server().tcpRemote as string });
    const root = await vswitchRootUuid(c);
    const tricky = '}{][\\"\\\\';
    const outcome = await c.transact((tx) => {
      tx.mutate('Open_vSwitch', root, [mutation('external_ids', 'insert', new Map([['k', tricky]]))]);
    });
    expect(outcome.status).toBe('success');
    const row = c.table('Open_vSwitch').get(root) as Row;
    expect((row['external_ids'] as ReadonlyMap<string, string>).get('k')).toBe(tricky);
    const dumped = await server().select('Open_vSwitch');
    expect(JSON.stringify(dumped)).toContain(JSON.stringify(tricky).slice(1, -1));
  });

  it('reports commit errors at index ops.length and op errors at their index (G1)', async () => {
    const c = client();
    await vswitchRootUuid(c);
    const refError = await c.transact((tx) => {
      tx.insert('Port', { name: 'dangling', interfaces: ['00000000-0000-4000-8000-000000000001'] });
    });
    expect(refError).toMatchObject({ status: 'error', opIndex: 1, error: 'referential integrity violation' });
    const opError = await c.transact((tx) => {
      tx.raw({ op: 'insert', table: 'Bridge', row: { no_such_column: 1 } });
    });
    expect(opError).toMatchObject({ status: 'error', opIndex: 0, error: 'unknown column' });
  });

  it('parses both JSON-RPC error shapes into OvsdbRpcError (B5)', async () => {
    const conn = await RpcConnection.open(parseRemote(server().unixRemote as string));
    try {
      const unknownMethod = await conn.request('frobnicate', []).catch((e: unknown) => e);
      expect(unknownMethod).toBeInstanceOf(OvsdbRpcError);
      expect((unknownMethod as OvsdbRpcError).error).toBe('unknown method');
      const unknownDb = await conn.request('get_schema', ['Nope']).catch((e: unknown) => e);
      expect(unknownDb).toBeInstanceOf(OvsdbRpcError);
      expect((unknownDb as OvsdbRpcError).error).toBe('unknown database');
    } finally {
      conn.close();
    }
  });

  it('omits client-only tables and columns with a warning and keeps working, dropping condition clauses on them (C6, E6)', async () => {
    const schema = JSON.parse(await readFile(VSWITCH_SCHEMA, 'utf8')) as {
      tables: Record<string, { columns: Record<string, unknown> }>;
    };
    const bridge = schema.tables['Bridge'];
    if (bridge === undefined) throw new Error('schema without Bridge');
    bridge.columns['client_only_column'] = { type: 'string' };
    schema.tables['Client_Only_Table'] = { columns: { name: { type: 'string' } } };
    const warnings: string[] = [];
    const c = client({ schema, tables: { Bridge: {}, Client_Only_Table: {} } }, { start: false });
    c.on('warning', (w) => warnings.push(w));
    c.start();
    await c.ready();
    expect(warnings.some((w) => w.includes('Bridge.client_only_column'))).toBe(true);
    expect(warnings.some((w) => w.includes('Client_Only_Table'))).toBe(true);
    expect(c.serverHasColumn('Bridge', 'client_only_column')).toBe(false);
    expect(c.serverHasColumn('Bridge', 'name')).toBe(true);
    expect(c.serverHasTable('Client_Only_Table')).toBe(false);
    expect(c.table('Bridge').find((r) => r['name'] === 'br-own')).toHaveLength(1);
    expect(c.table('Client_Only_Table').size).toBe(0);

    // E6: a clause on the missing column is dropped (with a warning); the others still apply.
    const conditional = client(
      {
        schema,
        tables: {
          Bridge: { where: [where('client_only_column', '==', 'x'), where('name', '==', 'br-own')] },
        },
      },
      { start: false },
    );
    const condWarnings: string[] = [];
    conditional.on('warning', (w) => condWarnings.push(w));
    conditional.start();
    await conditional.ready();
    expect(condWarnings.some((w) => /clause on Bridge.client_only_column dropped/.test(w))).toBe(true);
    expect(
      conditional
        .table('Bridge')
        .all()
        .map((r) => r['name']),
    ).toEqual(['br-own']);
  });

  it('needs unique monitor ids per connection; omitted columns mean all, [] row presence only (D9)', async () => {
    const conn = await RpcConnection.open(parseRemote(server().unixRemote as string));
    try {
      const all = await conn.request<Record<string, Record<string, { new: Record<string, unknown> }>>>(
        'monitor',
        ['Open_vSwitch', 'm', { Bridge: {} }],
      );
      const someRow = Object.values(all['Bridge'] ?? {})[0];
      expect(Object.keys(someRow?.new ?? {})).toEqual(
        expect.arrayContaining(['name', 'ports', 'external_ids']),
      );
      await expect(conn.request('monitor', ['Open_vSwitch', 'm', { Bridge: {} }])).rejects.toMatchObject({
        details: expect.stringMatching(/duplicate monitor ID/) as unknown,
      });
      const presence = await conn.request<Record<string, Record<string, { new: Record<string, unknown> }>>>(
        'monitor',
        ['Open_vSwitch', 'p', { Bridge: { columns: [] } }],
      );
      expect(Object.values(presence['Bridge'] ?? {}).every((r) => Object.keys(r.new).length === 0)).toBe(
        true,
      );
    } finally {
      conn.close();
    }
    // The client itself uses session-unique ids (data-N, server-N); its rpc() escape hatch shares its connection.
    const c = client();
    await c.ready();
    const ids = await c.rpc<unknown>('list_dbs', []);
    expect(ids).toContain('Open_vSwitch');
  });
});
