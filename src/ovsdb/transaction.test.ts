import { describe, expect, it } from 'vitest';
import type { Row } from './cache.js';
import { where } from './condition.js';
import { DatumError, NamedUuid } from './datum.js';
import { parseSchema, SchemaError } from './schema.js';
import {
  classifyTransactResult,
  mutation,
  TransactionBuilder,
  type PreparedTransaction,
  type TxnOutcome,
  type TxnSuccess,
} from './transaction.js';

const schema = parseSchema({
  name: 'Open_vSwitch',
  tables: {
    Open_vSwitch: {
      isRoot: true,
      columns: {
        bridges: { type: { key: { type: 'uuid', refTable: 'Bridge' }, min: 0, max: 'unlimited' } },
        next_cfg: { type: 'integer' },
        cur_cfg: { type: 'integer' },
        ratio: { type: 'real' },
      },
    },
    Bridge: {
      columns: {
        name: { type: 'string', mutable: false },
        ports: { type: { key: { type: 'uuid', refTable: 'Port' }, min: 0, max: 'unlimited' } },
        datapath_id: { type: { key: 'string', min: 0, max: 1 } },
        external_ids: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } },
      },
      indexes: [['name']],
    },
    Port: {
      columns: {
        name: { type: 'string' },
        interfaces: { type: { key: { type: 'uuid', refTable: 'Interface' }, min: 1, max: 'unlimited' } },
        tag: { type: { key: { type: 'integer', minInteger: 0, maxInteger: 4095 }, min: 0, max: 1 } },
      },
    },
    Interface: {
      columns: {
        name: { type: 'string' },
        type: { type: 'string' },
        external_ids: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } },
        mtu_request: { type: { key: { type: 'integer', minInteger: 1 }, min: 0, max: 1 } },
      },
    },
  },
});

const ROOT = '00000000-0000-0000-0000-00000000000a';
const BR = '00000000-0000-0000-0000-0000000000b1';
const NEW_IF = '00000000-0000-0000-0000-0000000000c1';
const NEW_PORT = '00000000-0000-0000-0000-0000000000d1';

const bridgeRow: Row = Object.freeze({
  _uuid: BR,
  name: 'br-int',
  ports: Object.freeze(['00000000-0000-0000-0000-0000000000d9']),
  datapath_id: undefined,
  external_ids: new Map([['k', 'v']]),
});

/** The Port/Interface plug transaction of the agent (checklist G8: linked in the same transaction). */
function plugTransaction(): { tx: TransactionBuilder; iface: NamedUuid; port: NamedUuid } {
  const tx = new TransactionBuilder(schema);
  const iface = tx.insert('Interface', { name: 'vif1', type: '', external_ids: { 'iface-id': 'lp1' } });
  const port = tx.insert('Port', { name: 'vif1', interfaces: [iface] });
  tx.mutate('Bridge', BR, [mutation('ports', 'insert', [port])]);
  return { tx, iface, port };
}

describe('TransactionBuilder: requests', () => {
  it('builds a linked Interface + Port + Bridge.ports insert with named UUIDs (C5, G8)', () => {
    const { tx, iface, port } = plugTransaction();
    const prepared = tx.build();
    expect(iface.name).toMatch(/^row_[0-9a-f]+$/);
    expect(port.name).not.toBe(iface.name);
    expect(prepared.params).toEqual([
      'Open_vSwitch',
      {
        op: 'insert',
        table: 'Interface',
        'uuid-name': iface.name,
        row: { name: 'vif1', type: '', external_ids: ['map', [['iface-id', 'lp1']]] },
      },
      {
        op: 'insert',
        table: 'Port',
        'uuid-name': port.name,
        row: { name: 'vif1', interfaces: ['set', [['named-uuid', iface.name]]] },
      },
      {
        op: 'mutate',
        table: 'Bridge',
        where: [['_uuid', '==', ['uuid', BR]]],
        mutations: [['ports', 'insert', ['set', [['named-uuid', port.name]]]]],
      },
    ]);
    expect(prepared.changesDatabase).toBe(true);
  });

  it('allows a reference before the insert it names (forward reference)', () => {
    const tx = new TransactionBuilder(schema);
    const later = new NamedUuid('row_fwd', 'Port');
    tx.mutate('Bridge', BR, [mutation('ports', 'insert', [later])]);
    expect(tx.build().ops[0]).toMatchObject({
      mutations: [['ports', 'insert', ['set', [['named-uuid', 'row_fwd']]]]],
    });
  });

  it('inserts with an explicit uuid (G5) and references it by that uuid', () => {
    const tx = new TransactionBuilder(schema);
    const iface = tx.insert('Interface', { name: 'vif1' }, { uuid: NEW_IF.toUpperCase() });
    tx.insert('Port', { name: 'vif1', interfaces: [iface] });
    const ops = tx.build().ops;
    expect(ops[0]).toEqual({ op: 'insert', table: 'Interface', uuid: NEW_IF, row: { name: 'vif1' } });
    expect(ops[1]).toMatchObject({ row: { interfaces: ['set', [['uuid', NEW_IF]]] } });
  });

  it('builds update, delete, select, wait and comment ops', () => {
    const tx = new TransactionBuilder(schema);
    tx.update('Interface', [where('name', '==', 'vif1')], { mtu_request: undefined });
    tx.delete('Port', NEW_PORT);
    const select = tx.select('Bridge', [where('name', '==', 'br-int')], ['_uuid', 'ports']);
    tx.wait('Bridge', [where('name', '==', 'br-int')], {
      columns: ['datapath_id'],
      until: '!=',
      rows: [{ datapath_id: undefined }],
      timeoutMs: 5000,
    });
    tx.comment('ovn-plug-agent: plug lp1');
    const prepared = tx.build();
    expect(prepared.ops).toEqual([
      {
        op: 'update',
        table: 'Interface',
        where: [['name', '==', 'vif1']],
        row: { mtu_request: ['set', []] },
      },
      { op: 'delete', table: 'Port', where: [['_uuid', '==', ['uuid', NEW_PORT]]] },
      { op: 'select', table: 'Bridge', where: [['name', '==', 'br-int']], columns: ['_uuid', 'ports'] },
      {
        op: 'wait',
        table: 'Bridge',
        where: [['name', '==', 'br-int']],
        columns: ['datapath_id'],
        until: '!=',
        rows: [{ datapath_id: ['set', []] }],
        timeout: 5000,
      },
      { op: 'comment', comment: 'ovn-plug-agent: plug lp1' },
    ]);
    expect(prepared.indexOf(select)).toBe(2);
  });

  it('builds map and arithmetic mutations', () => {
    const tx = new TransactionBuilder(schema);
    tx.mutate('Interface', NEW_IF, [
      mutation('external_ids', 'insert', { 'ovn-plug-agent': 'dummy' }),
      mutation('external_ids', 'delete', ['iface-id', 'attached-mac']),
      mutation('external_ids', 'delete', new Map([['k', 'v']])),
    ]);
    tx.mutate('Open_vSwitch', ROOT, [mutation('next_cfg', '+=', 1), mutation('ratio', '*=', 0.5)]);
    tx.mutate('Port', NEW_PORT, [mutation('tag', 'insert', 7), mutation('tag', '+=', 5000)]);
    const ops = tx.build().ops;
    expect(ops[0]!['mutations']).toEqual([
      ['external_ids', 'insert', ['map', [['ovn-plug-agent', 'dummy']]]],
      ['external_ids', 'delete', ['set', ['iface-id', 'attached-mac']]],
      ['external_ids', 'delete', ['map', [['k', 'v']]]],
    ]);
    expect(ops[1]!['mutations']).toEqual([
      ['next_cfg', '+=', 1],
      ['ratio', '*=', 0.5],
    ]);
    // An arithmetic operand is not bound by the column's range (the result is checked by the server).
    expect(ops[2]!['mutations']).toEqual([
      ['tag', 'insert', ['set', [7]]],
      ['tag', '+=', 5000],
    ]);
  });

  it('puts asserts first, then verify waits (merged per row), then the rest, then abort', () => {
    const tx = new TransactionBuilder(schema);
    tx.mutate('Bridge', BR, [mutation('ports', 'delete', ['00000000-0000-0000-0000-0000000000d9'])]);
    tx.verify('Bridge', bridgeRow, ['ports']);
    tx.verify('Bridge', bridgeRow, ['external_ids', 'ports']);
    tx.assertLock('ovn_plug_agent');
    tx.abort();
    const prepared = tx.build();
    expect(prepared.ops.map((o) => o['op'])).toEqual(['assert', 'wait', 'mutate', 'abort']);
    expect(prepared.ops[0]).toEqual({ op: 'assert', lock: 'ovn_plug_agent' });
    expect(prepared.ops[1]).toEqual({
      op: 'wait',
      timeout: 0,
      table: 'Bridge',
      where: [['_uuid', '==', ['uuid', BR]]],
      columns: ['ports', 'external_ids'],
      until: '==',
      rows: [
        {
          ports: ['set', [['uuid', '00000000-0000-0000-0000-0000000000d9']]],
          external_ids: ['map', [['k', 'v']]],
        },
      ],
    });
    expect(prepared.verifyOpIndexes).toEqual(new Set([1]));
  });

  it('builds verifyNone / verifySome as check-once waits on the matching rows, after the verifies', () => {
    const tx = new TransactionBuilder(schema);
    tx.insert('Port', { name: 'vif1', interfaces: [NEW_IF] });
    tx.verifyNone('Port', [where('name', '==', 'vif1')]);
    tx.verify('Bridge', bridgeRow, ['external_ids']);
    tx.verifySome('Bridge', [where('_uuid', '==', BR), where('ports', 'includes', [NEW_PORT])]);
    const prepared = tx.build();
    expect(prepared.ops.map((o) => o['op'])).toEqual(['wait', 'wait', 'wait', 'insert']);
    expect(prepared.ops[1]).toEqual({
      op: 'wait',
      timeout: 0,
      table: 'Port',
      where: [['name', '==', 'vif1']],
      columns: [],
      until: '==',
      rows: [],
    });
    expect(prepared.ops[2]).toEqual({
      op: 'wait',
      timeout: 0,
      table: 'Bridge',
      where: [
        ['_uuid', '==', ['uuid', BR]],
        ['ports', 'includes', ['set', [['uuid', NEW_PORT]]]],
      ],
      columns: [],
      until: '!=',
      rows: [],
    });
    expect(prepared.verifyOpIndexes).toEqual(new Set([0, 1, 2]));
    expect(tx.handleAt(3)).toBe(prepared.inserts[0]);
    expect(() => tx.verifyNone('Port', [where('nope', '==', 'x')])).toThrow(/Port\.nope/);
  });

  it('builds increment as mutate += 1 plus select of the column', () => {
    const tx = new TransactionBuilder(schema);
    const handle = tx.increment('Open_vSwitch', ROOT, 'next_cfg');
    const prepared = tx.build();
    expect(prepared.ops).toEqual([
      {
        op: 'mutate',
        table: 'Open_vSwitch',
        where: [['_uuid', '==', ['uuid', ROOT]]],
        mutations: [['next_cfg', '+=', 1]],
      },
      {
        op: 'select',
        table: 'Open_vSwitch',
        where: [['_uuid', '==', ['uuid', ROOT]]],
        columns: ['next_cfg'],
      },
    ]);
    expect(prepared.indexOf(handle)).toBe(1);
  });

  it('reports a transaction without writes as not changing the database', () => {
    const tx = new TransactionBuilder(schema);
    tx.verify('Bridge', bridgeRow, ['ports']);
    tx.comment('nothing');
    expect(tx.build().changesDatabase).toBe(false);
  });

  const bad: [string, (tx: TransactionBuilder) => void, RegExp][] = [
    ['an unknown table', (tx) => tx.insert('Nope', {}), /database Open_vSwitch has no table "Nope"/],
    [
      'an unknown column',
      (tx) => tx.insert('Port', { nope: 1 }),
      /Port\.nope: table Port has no writable column "nope"/,
    ],
    ['_uuid in a row', (tx) => tx.insert('Port', { _uuid: BR }), /Port\._uuid/],
    [
      'an update of an immutable column',
      (tx) => tx.update('Bridge', BR, { name: 'x' }),
      /Bridge\.name: column name is immutable/,
    ],
    [
      'a value of the wrong type',
      (tx) => tx.insert('Port', { name: 5 }),
      /Port\.name: expected a string, got 5/,
    ],
    ['a selector that is not a uuid', (tx) => tx.delete('Port', 'vif1'), /row selector "vif1" is not a UUID/],
    [
      'an explicit uuid that is not a uuid',
      (tx) => tx.insert('Port', {}, { uuid: 'x' }),
      /explicit uuid "x" is not a UUID/,
    ],
    [
      '+= on a string',
      (tx) => tx.mutate('Port', NEW_PORT, [mutation('name', '+=', 1)]),
      /mutator "\+=" does not apply to a scalar of string/,
    ],
    [
      '%= on a real',
      (tx) => tx.mutate('Open_vSwitch', ROOT, [mutation('ratio', '%=', 2)]),
      /mutator "%=" does not apply/,
    ],
    [
      'insert on a scalar',
      (tx) => tx.mutate('Port', NEW_PORT, [mutation('name', 'insert', ['x'])]),
      /needs a set or map column/,
    ],
    [
      'a set for an arithmetic operand',
      (tx) => tx.mutate('Open_vSwitch', ROOT, [mutation('next_cfg', '+=', [1])]),
      /takes a single number/,
    ],
    [
      'increment of a non-integer',
      (tx) => tx.increment('Bridge', BR, 'datapath_id'),
      /increment needs a scalar integer column/,
    ],
    [
      'verify of a column the row lacks',
      (tx) => tx.verify('Port', bridgeRow, ['tag']),
      /the row given to verify\(\) has no value for tag/,
    ],
    [
      'a negative wait timeout',
      (tx) => tx.wait('Port', [], { columns: ['name'], until: '==', rows: [], timeoutMs: -1 }),
      /non-negative integer, got -1/,
    ],
    ['a bad lock name', (tx) => tx.assertLock('my lock'), /invalid lock name "my lock"/],
  ];
  it.each(bad)('rejects %s, naming it', (_what, build, message) => {
    const tx = new TransactionBuilder(schema);
    let caught: unknown;
    try {
      build(tx);
    } catch (error) {
      caught = error;
    }
    expect(caught instanceof SchemaError || caught instanceof DatumError).toBe(true);
    expect((caught as Error).message).toMatch(message);
  });
});

describe('classifyTransactResult (§1.5, G1, G2)', () => {
  function plug(): { prepared: PreparedTransaction; iface: NamedUuid; port: NamedUuid } {
    const { tx, iface, port } = plugTransaction();
    return { prepared: tx.build(), iface, port };
  }

  it('maps named inserts back to their UUIDs on success', () => {
    const { prepared, iface, port } = plug();
    const outcome = classifyTransactResult(prepared, {
      result: [{ uuid: ['uuid', NEW_IF] }, { uuid: ['uuid', NEW_PORT.toUpperCase()] }, { count: 1 }],
      error: null,
    });
    expect(outcome.status).toBe('success');
    const success = outcome as TxnSuccess;
    expect(success.uuids.get(iface)).toBe(NEW_IF);
    expect(success.uuids.get(port)).toBe(NEW_PORT);
    expect(success.results[2]).toEqual({ count: 1 });
  });

  it('returns the decoded rows of a select and the new value of an increment', () => {
    const tx = new TransactionBuilder(schema);
    const select = tx.select('Bridge', [], ['name', 'ports']);
    const inc = tx.increment('Open_vSwitch', ROOT, 'next_cfg');
    const outcome = classifyTransactResult(tx.build(), {
      result: [
        { rows: [{ name: 'br-int', ports: ['uuid', NEW_PORT] }] },
        { count: 1 },
        { rows: [{ next_cfg: 9007199254740993n }] },
      ],
    }) as TxnSuccess;
    expect(outcome.status).toBe('success');
    expect(outcome.selected.get(select)).toEqual([{ name: 'br-int', ports: [NEW_PORT] }]);
    expect(outcome.incremented.get(inc)).toBe(9007199254740993n);
  });

  const outcomes: [string, () => PreparedTransaction, unknown, TxnOutcome][] = [
    [
      'an op error followed by nulls',
      () => plug().prepared,
      { result: [{ uuid: ['uuid', NEW_IF] }, { error: 'constraint violation', details: 'bad' }, null] },
      { status: 'error', scope: 'op', opIndex: 1, error: 'constraint violation', details: 'bad' },
    ],
    [
      'a referential integrity violation at commit (the extra element)',
      () => {
        const tx = new TransactionBuilder(schema);
        tx.mutate('Bridge', BR, [mutation('ports', 'insert', [NEW_PORT])]);
        return tx.build();
      },
      {
        result: [
          { count: 1 },
          { error: 'referential integrity violation', details: 'reference to missing row' },
        ],
      },
      {
        status: 'error',
        scope: 'commit',
        opIndex: 1,
        error: 'referential integrity violation',
        details: 'reference to missing row',
      },
    ],
    [
      'an index constraint violation at commit',
      () => plug().prepared,
      {
        result: [
          { uuid: ['uuid', NEW_IF] },
          { uuid: ['uuid', NEW_PORT] },
          { count: 1 },
          {
            error: 'constraint violation',
            details:
              'Transaction causes multiple rows in "Port" table to have identical values (vif1) for index on column "name".',
          },
        ],
      },
      {
        status: 'error',
        scope: 'commit',
        opIndex: 3,
        error: 'constraint violation',
        details:
          'Transaction causes multiple rows in "Port" table to have identical values (vif1) for index on column "name".',
      },
    ],
    [
      '"timed out" from a verify wait',
      () => {
        const tx = new TransactionBuilder(schema);
        tx.verify('Bridge', bridgeRow, ['ports']);
        tx.mutate('Bridge', BR, [mutation('ports', 'insert', [NEW_PORT])]);
        return tx.build();
      },
      { result: [{ error: 'timed out' }, null] },
      { status: 'tryAgain', reason: 'verify-failed' },
    ],
    [
      '"timed out" from a verifyNone wait',
      () => {
        const tx = new TransactionBuilder(schema);
        tx.verifyNone('Port', [where('name', '==', 'vif1')]);
        tx.insert('Port', { name: 'vif1', interfaces: [NEW_IF] });
        return tx.build();
      },
      { result: [{ error: 'timed out' }, null] },
      { status: 'tryAgain', reason: 'verify-failed' },
    ],
    [
      '"timed out" from a user wait',
      () => {
        const tx = new TransactionBuilder(schema);
        tx.wait('Bridge', [], { columns: ['name'], until: '==', rows: [], timeoutMs: 10 });
        return tx.build();
      },
      { result: [{ error: 'timed out' }] },
      { status: 'tryAgain', reason: 'wait-timed-out' },
    ],
    [
      '"not owner" from a lock assertion',
      () => {
        const tx = new TransactionBuilder(schema);
        tx.assertLock('l');
        tx.delete('Port', NEW_PORT);
        return tx.build();
      },
      { result: [{ error: 'not owner', details: 'lock l' }, null] },
      { status: 'notLocked', details: 'lock l' },
    ],
    [
      '"aborted" after abort()',
      () => {
        const tx = new TransactionBuilder(schema);
        tx.delete('Port', NEW_PORT);
        tx.abort();
        return tx.build();
      },
      { result: [{ count: 0 }, { error: 'aborted' }] },
      { status: 'error', scope: 'op', opIndex: 1, error: 'aborted' },
    ],
    [
      'a JSON-RPC "canceled" (string form)',
      () => plug().prepared,
      { result: null, error: 'canceled' },
      { status: 'tryAgain', reason: 'canceled' },
    ],
    [
      'a JSON-RPC "unknown database" (object form)',
      () => plug().prepared,
      { error: { error: 'unknown database', details: 'Open_vSwitch is not a valid database' } },
      { status: 'tryAgain', reason: 'unknown-database', details: 'Open_vSwitch is not a valid database' },
    ],
    [
      'another JSON-RPC error',
      () => plug().prepared,
      { error: { error: 'syntax error', details: 'bad', syntax: '[]' } },
      { status: 'error', scope: 'rpc', error: 'syntax error', details: 'bad', syntax: '[]' },
    ],
    [
      'a too short result',
      () => plug().prepared,
      { result: [{}, {}] },
      {
        status: 'error',
        scope: 'malformed',
        error: 'malformed transact reply',
        details: '2 result elements for 3 operations',
      },
    ],
    [
      'a too long result',
      () => plug().prepared,
      { result: [{}, {}, {}, {}, {}] },
      {
        status: 'error',
        scope: 'malformed',
        error: 'malformed transact reply',
        details: '5 result elements for 3 operations',
      },
    ],
    [
      'a result that is not an array',
      () => plug().prepared,
      { result: { count: 1 } },
      {
        status: 'error',
        scope: 'malformed',
        error: 'malformed transact reply',
        details: 'result is not an array: {"count":1}',
      },
    ],
    [
      'an extra element that is not an error',
      () => plug().prepared,
      { result: [{ uuid: ['uuid', NEW_IF] }, { uuid: ['uuid', NEW_PORT] }, { count: 1 }, {}] },
      {
        status: 'error',
        scope: 'malformed',
        error: 'malformed transact reply',
        details: 'extra result element {} is not a commit error',
      },
    ],
    [
      'a null without a preceding error',
      () => plug().prepared,
      { result: [{ uuid: ['uuid', NEW_IF] }, null, { count: 1 }] },
      {
        status: 'error',
        scope: 'malformed',
        error: 'malformed transact reply',
        details: 'result of op 1 is null, expected an object',
      },
    ],
    [
      'an insert result without a uuid',
      () => plug().prepared,
      { result: [{ uuid: ['uuid', NEW_IF] }, { count: 1 }, { count: 1 }] },
      {
        status: 'error',
        scope: 'malformed',
        error: 'malformed transact reply',
        details: 'insert op 1 returned {"count":1}',
      },
    ],
  ];
  it.each(outcomes)('classifies %s', (_what, prepare, reply, expected) => {
    expect(classifyTransactResult(prepare(), reply as { result?: unknown; error?: unknown })).toEqual(
      expected,
    );
  });
});
