/**
 * Conditional monitoring, transactions, server restart and online schema conversion against a
 * real standalone ovsdb-server (checklist D4, D10, E1-E4, F8, G2-G4).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VSWITCH_SCHEMA, waitUntil } from '../harness/index.js';
import { useStandaloneVswitch } from './support/ovsdb-setup.js';
import { RpcConnection, mutation, parseRemote, where } from '../../src/ovsdb/index.js';
import type { ClientState, OvsdbClient, Row, TransactionBuilder } from '../../src/ovsdb/index.js';

const { server, client } = useStandaloneVswitch({ beforeAll, afterAll }, 'mon', {
  tables: { Open_vSwitch: {}, Bridge: {} },
  backoff: { minMs: 100, maxMs: 500 },
});

const BRIDGES = ['brA', 'brB', 'brU', 'brV'];

beforeAll(async () => {
  const ops: object[] = [
    { op: 'insert', table: 'Open_vSwitch', row: { bridges: ['set', BRIDGES.map((b) => ['named-uuid', b])] } },
  ];
  for (const b of BRIDGES) ops.push({ op: 'insert', table: 'Bridge', row: { name: b }, 'uuid-name': b });
  await server().transact(ops);
});

const names = (c: OvsdbClient): string[] =>
  c
    .table('Bridge')
    .all()
    .map((r) => r['name'] as string)
    .sort();

describe('conditional monitoring', () => {
  it('ORs the clauses of a monitor condition, whereas transact ANDs them (E1)', async () => {
    const c = client({
      tables: { Bridge: { where: [where('name', '==', 'brA'), where('name', '==', 'brU')] } },
    });
    await c.ready();
    expect(names(c)).toEqual(['brA', 'brU']);
    const selected = await server().select('Bridge', [
      ['name', '==', 'brA'],
      ['name', '==', 'brU'],
    ]);
    expect(selected).toHaveLength(0);
  });

  it('treats true as all rows, and false or [] as none (E2)', async () => {
    const all = client({ tables: { Bridge: { where: true } } });
    const none = client({ tables: { Bridge: { where: false } } });
    const empty = client({ tables: { Bridge: { where: [] } } });
    await Promise.all([all.ready(), none.ready(), empty.ready()]);
    expect(names(all)).toEqual(BRIDGES);
    expect(all.conditionSeqno).toBe(0);
    expect(names(none)).toEqual([]);
    expect(names(empty)).toEqual([]);
  });

  it('renames the monitor on monitor_cond_change; the old id is then unknown (E3)', async () => {
    const updates: unknown[] = [];
    const conn = await RpcConnection.open(parseRemote(server().unixRemote as string), {
      onNotification: (method, params) => updates.push([method, params]),
    });
    try {
      await conn.request('monitor_cond', [
        'Open_vSwitch',
        'm1',
        { Bridge: [{ columns: ['name'], where: [['name', '==', 'brA']] }] },
      ]);
      await conn.request('monitor_cond_change', [
        'm1',
        'm2',
        { Bridge: [{ where: [['name', '==', 'brB']] }] },
      ]);
      expect(updates.length).toBeGreaterThan(0);
      expect(updates.every((u) => (u as [string, unknown[]])[1][0] === 'm2')).toBe(true);
      await expect(
        conn.request('monitor_cond_change', ['m1', 'm3', { Bridge: [{ where: [true] }] }]),
      ).rejects.toMatchObject({
        error: 'syntax error',
        details: expect.stringMatching(/unknown monitor session/) as unknown,
      });
    } finally {
      conn.close();
    }
  });

  it('coalesces condition changes, one in flight, and tells when each is in effect (E4)', async () => {
    const c = client({ tables: { Bridge: { where: [where('name', '==', 'brA')] } } });
    await c.ready();
    const base = c.conditionSeqno;
    const first = c.setCondition('Bridge', [where('name', '==', 'brB')]);
    const second = c.setCondition('Bridge', [where('name', '==', 'brU')]);
    const third = c.setCondition('Bridge', [where('name', '==', 'brU'), where('name', '==', 'brV')]);
    expect([first, second, third]).toEqual([base + 1, base + 2, base + 2]);
    await c.waitForConditionSeqno(first);
    expect(c.conditionSeqno).toBeLessThan(third);
    await c.waitForConditionSeqno(third);
    expect(c.conditionSeqno).toBe(third);
    expect(names(c)).toEqual(['brU', 'brV']);
    expect(c.setCondition('Bridge', [where('name', '==', 'brU'), where('name', '==', 'brV')])).toBe(third);
  });
});

describe('transactions', () => {
  it('refuses to transact before monitoring (G3)', async () => {
    const c = client({ tables: { Bridge: {} } }, { start: false });
    expect(await c.transact((tx) => void tx.comment('x'))).toEqual({
      status: 'tryAgain',
      reason: 'not-monitoring',
    });
  });

  it('turns a stale verify into tryAgain; the rebuilt transaction then commits (G2, G4)', async () => {
    const a = client();
    const b = client();
    await Promise.all([a.ready(), b.ready()]);
    const bridgeA = (a.table('Bridge').find((r) => r['name'] === 'brA')[0] as Row)._uuid;
    const setOwner = (row: Row, owner: string) => (tx: TransactionBuilder) => {
      tx.verify('Bridge', row, ['external_ids']);
      tx.update('Bridge', bridgeA, {
        external_ids: new Map([...(row['external_ids'] as ReadonlyMap<string, string>), ['owner', owner]]),
      });
    };
    const staleInB = b.table('Bridge').get(bridgeA) as Row;
    const seqnoBefore = b.seqno;
    expect((await a.transact(setOwner(a.table('Bridge').get(bridgeA) as Row, 'a'))).status).toBe('success');
    expect(await b.transact(setOwner(staleInB, 'b'))).toMatchObject({
      status: 'tryAgain',
      reason: 'verify-failed',
    });
    await b.waitForChange(seqnoBefore);
    const retried = await b.transact(setOwner(b.table('Bridge').get(bridgeA) as Row, 'b'));
    expect(retried.status).toBe('success');
    expect((b.table('Bridge').get(bridgeA) as Row)['external_ids']).toEqual(new Map([['owner', 'b']]));
  });

  it('concurrent mutate inserts from two clients both succeed without verify (G7)', async () => {
    const a = client();
    const b = client();
    await Promise.all([a.ready(), b.ready()]);
    const br = (a.table('Bridge').find((r) => r['name'] === 'brB')[0] as Row)._uuid;
    const [ra, rb] = await Promise.all([
      a.transact((tx) => tx.mutate('Bridge', br, [mutation('flood_vlans', 'insert', [10])])),
      b.transact((tx) => tx.mutate('Bridge', br, [mutation('flood_vlans', 'insert', [20])])),
    ]);
    expect([ra.status, rb.status]).toEqual(['success', 'success']);
    await waitUntil(
      () => ((a.table('Bridge').get(br) as Row)['flood_vlans'] as readonly number[]).length === 2,
      { description: 'both inserts' },
    );
    expect((a.table('Bridge').get(br) as Row)['flood_vlans']).toEqual([10, 20]);
  });
});

describe('values end to end', () => {
  it('decodes a one-element set sent as a bare atom (C2) and fills defaults of omitted columns (C3)', async () => {
    const c = client();
    await c.ready();
    const br = (c.table('Bridge').find((r) => r['name'] === 'brV')[0] as Row)._uuid;
    await server().transact([
      { op: 'update', table: 'Bridge', where: [['_uuid', '==', ['uuid', br]]], row: { flood_vlans: 7 } },
    ]);
    await waitUntil(
      () => ((c.table('Bridge').get(br) as Row)['flood_vlans'] as readonly number[]).length === 1,
      { description: 'update' },
    );
    const row = c.table('Bridge').get(br) as Row;
    expect(row['flood_vlans']).toEqual([7]);
    expect(row['ports']).toEqual([]);
    expect(row['datapath_id']).toBeUndefined();
    expect(row['fail_mode']).toBeUndefined();
    expect(row['stp_enable']).toBe(false);
    expect(row['other_config']).toEqual(new Map());
  });

  it('applies set, map and optional diffs exactly as the server stores them (D5)', async () => {
    const c = client();
    await c.ready();
    const br = (c.table('Bridge').find((r) => r['name'] === 'brU')[0] as Row)._uuid;
    const steps: object[] = [
      {
        flood_vlans: ['set', [1, 2, 3]],
        external_ids: [
          'map',
          [
            ['k1', 'v1'],
            ['k2', 'v2'],
          ],
        ],
        datapath_type: 'aaaa',
        fail_mode: 'secure',
      },
      {
        flood_vlans: ['set', [2, 3, 4]],
        external_ids: [
          'map',
          [
            ['k1', 'v1x'],
            ['k3', 'v3'],
          ],
        ],
        datapath_type: 'bbbb',
        fail_mode: ['set', []],
      },
      { flood_vlans: ['set', []], external_ids: ['map', []], datapath_type: '', fail_mode: 'standalone' },
    ];
    for (const row of steps) {
      const before = c.seqno;
      await server().transact([
        { op: 'update', table: 'Bridge', where: [['_uuid', '==', ['uuid', br]]], row },
      ]);
      await c.waitForChange(before);
      const [oracle] = await server().select('Bridge', [['_uuid', '==', ['uuid', br]]]);
      const mine = c.table('Bridge').get(br) as Row;
      const flood = oracle?.['flood_vlans'];
      const floodList = Array.isArray(flood) && flood[0] === 'set' ? (flood[1] as number[]) : [flood];
      expect(mine['flood_vlans']).toEqual(floodList);
      expect([...(mine['external_ids'] as ReadonlyMap<string, string>)]).toEqual(
        (oracle?.['external_ids'] as [string, [string, string][]])[1],
      );
      expect(mine['datapath_type']).toBe(oracle?.['datapath_type']);
      const fail = oracle?.['fail_mode'];
      expect(mine['fail_mode']).toBe(Array.isArray(fail) ? undefined : fail);
    }
  });

  it('inserts with an explicit uuid once; a second attempt fails with "duplicate uuid" (G5)', async () => {
    const c = client();
    const root = (await c.ready(), c.table('Open_vSwitch').all()[0] as Row)._uuid;
    const uuid = '5ca1ab1e-0000-4000-8000-00000000000a';
    const insert = (tx: TransactionBuilder): void => {
      const b = tx.insert('Bridge', { name: 'br-explicit' }, { uuid });
      tx.mutate('Open_vSwitch', root, [mutation('bridges', 'insert', [b])]);
    };
    expect((await c.transact(insert)).status).toBe('success');
    expect(c.table('Bridge').get(uuid)?.['name']).toBe('br-explicit');
    expect(await c.transact(insert)).toMatchObject({ status: 'error', error: 'duplicate uuid' });
    expect(
      (await c.transact((tx) => tx.mutate('Open_vSwitch', root, [mutation('bridges', 'delete', [uuid])])))
        .status,
    ).toBe('success');
    expect(c.table('Bridge').get(uuid)).toBeUndefined();
  });
});

/** Keeps a transaction outstanding for a minute: no Bridge is ever named "never". */
const waitAMinute = (tx: TransactionBuilder): void =>
  tx.wait('Bridge', [where('name', '==', 'never')], {
    columns: ['name'],
    until: '==',
    rows: [{ name: 'never' }],
    timeoutMs: 60_000,
  });

describe('server restart and schema conversion', () => {
  it('reports a transaction in flight when the server dies as unknown, then resyncs after restart (G3)', async () => {
    const c = client();
    await c.ready();
    const states: ClientState[] = [];
    c.on('state', (s) => states.push(s));
    const blocking = c.transact(waitAMinute);
    await new Promise((r) => setTimeout(r, 100));
    await server().kill9();
    expect(await blocking).toEqual({ status: 'unknown', reason: 'disconnected' });
    await server().restart();
    await waitUntil(() => c.state === 'monitoring' && states.includes('connecting'), {
      timeoutMs: 20_000,
      description: 'client to resync',
    });
    expect(names(c)).toEqual(BRIDGES);
    expect((await c.transact((tx) => tx.comment('after restart'))).status).toBe('success');
  });

  it('restarts monitoring on the same connection after ovsdb-client convert when change-aware; otherwise reconnects (D10, F8)', async () => {
    const aware = client();
    const unaware = client({ dbChangeAware: false });
    await Promise.all([aware.ready(), unaware.ready()]);
    const awareStates: ClientState[] = [];
    const unawareStates: ClientState[] = [];
    aware.on('state', (s) => awareStates.push(s));
    unaware.on('state', (s) => unawareStates.push(s));
    const warnings: string[] = [];
    aware.on('warning', (w) => warnings.push(w));
    const pending = aware.transact(waitAMinute);
    const schema = JSON.parse(await readFile(VSWITCH_SCHEMA, 'utf8')) as {
      version: string;
      tables: Record<string, { columns: Record<string, unknown> }>;
    };
    (schema.tables['Bridge'] as { columns: Record<string, unknown> }).columns['converted_marker'] = {
      type: { key: 'string', min: 0, max: 1 },
    };
    schema.version = '99.0.0';
    const newSchema = join(server().dir, 'converted.ovsschema');
    await writeFile(newSchema, JSON.stringify(schema));
    await server().client('convert', server().unixRemote as string, newSchema);
    expect(await pending).toMatchObject({ status: 'tryAgain', reason: 'canceled' });
    await waitUntil(
      () =>
        aware.state === 'monitoring' &&
        aware.schema?.tables.get('Bridge')?.columns.has('converted_marker') === true,
      {
        timeoutMs: 10_000,
        description: `change-aware client to re-monitor with the new schema (warnings: ${warnings.join(' | ')}; states: ${awareStates.join(',')})`,
      },
    );
    expect(warnings.some((w) => w.includes('canceled monitor'))).toBe(true);
    expect(awareStates).not.toContain('connecting');
    await waitUntil(() => unaware.state === 'monitoring' && unawareStates.includes('connecting'), {
      timeoutMs: 10_000,
      description: 'non-aware client to reconnect',
    });
    expect(names(aware)).toEqual(BRIDGES);
    expect(names(unaware)).toEqual(BRIDGES);
  });

  it('waits through remove-db and resyncs after add-db (D11)', async () => {
    const c = client();
    await c.ready();
    const states: ClientState[] = [];
    c.on('state', (st) => states.push(st));
    await server().appctl('ovsdb-server/remove-db', 'Open_vSwitch');
    await waitUntil(() => c.state !== 'monitoring', {
      timeoutMs: 10_000,
      description: 'client to leave monitoring',
    });
    expect(await c.transact((tx) => tx.comment('x'))).toEqual({
      status: 'tryAgain',
      reason: 'not-monitoring',
    });
    await server().appctl('ovsdb-server/add-db', server().dbPath);
    await waitUntil(() => c.state === 'monitoring', {
      timeoutMs: 15_000,
      description: 'client to resync after add-db',
    });
    expect(names(c)).toEqual(BRIDGES);
  });
});

describe('locks', () => {
  it('asserts a held lock in transactions, answers notLocked without it, and re-acquires it after a reconnect (G6, F10)', async () => {
    const first = client({ lock: 'plug_agent' });
    await first.ready();
    await waitUntil(() => first.hasLock, { description: 'first client to hold the lock' });
    const second = client({ lock: 'plug_agent' });
    await second.ready();
    expect(second.hasLock).toBe(false);
    expect(await second.transact((tx) => tx.comment('x'))).toMatchObject({ status: 'notLocked' });
    expect((await first.transact((tx) => tx.comment('locked write'))).status).toBe('success');
    const gained = new Promise<void>((resolve) => second.on('locked', resolve));
    await first.close();
    await gained;
    expect((await second.transact((tx) => tx.comment('now mine'))).status).toBe('success');
    // Locks belong to the connection: after a server restart the client asks again.
    const lost = new Promise<void>((resolve) => second.on('lockLost', resolve));
    await server().kill9();
    await lost;
    await server().restart();
    await waitUntil(() => second.state === 'monitoring' && second.hasLock, {
      timeoutMs: 15_000,
      description: 'lock re-acquired',
    });
    expect((await second.transact((tx) => tx.comment('again'))).status).toBe('success');
  });
});
