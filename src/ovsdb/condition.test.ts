import { describe, expect, it } from 'vitest';
import {
  dropClausesOnMissingColumns,
  encodeMonitorWhere,
  encodeTransactWhere,
  where,
  whereUuid,
  type Clause,
  type ConditionFunction,
} from './condition.js';
import { DatumError, NamedUuid } from './datum.js';
import { parseSchema, requireTable, SchemaError } from './schema.js';

const schema = parseSchema({
  name: 'Cond_Test',
  tables: {
    Port_Binding: {
      columns: {
        logical_port: { type: 'string' },
        tunnel_key: { type: { key: { type: 'integer', minInteger: 1, maxInteger: 32767 } } },
        requested_chassis: {
          type: { key: { type: 'uuid', refTable: 'Chassis', refType: 'weak' }, min: 0, max: 1 },
        },
        additional_chassis: {
          type: { key: { type: 'uuid', refTable: 'Chassis', refType: 'weak' }, min: 0, max: 'unlimited' },
        },
        options: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } },
        mac: { type: { key: 'string', min: 1, max: 'unlimited' } },
        weight: { type: 'real' },
        up: { type: { key: 'boolean', min: 0, max: 1 } },
      },
    },
    Chassis: { columns: { name: { type: 'string' } } },
  },
});
const pb = requireTable(schema, 'Port_Binding');
const CH = '8b0c3f2e-0000-4000-8000-000000000001';

describe('encodeTransactWhere (clauses ANDed)', () => {
  const cases: [string, Clause, unknown][] = [
    ['a string equality', where('logical_port', '==', 'lp1'), ['logical_port', '==', 'lp1']],
    [
      'a uuid on an optional column',
      where('requested_chassis', '==', CH),
      ['requested_chassis', '==', ['uuid', CH]],
    ],
    [
      'an empty optional',
      where('requested_chassis', '==', undefined),
      ['requested_chassis', '==', ['set', []]],
    ],
    ['an integer comparison', where('tunnel_key', '<', 100), ['tunnel_key', '<', 100]],
    ['a real comparison', where('weight', '>=', 0.5), ['weight', '>=', 0.5]],
    [
      'a set includes one element',
      where('additional_chassis', 'includes', [CH]),
      ['additional_chassis', 'includes', ['set', [['uuid', CH]]]],
    ],
    [
      'a map includes a pair',
      where('options', 'includes', { 'vif-plug-type': 'dummy' }),
      ['options', 'includes', ['map', [['vif-plug-type', 'dummy']]]],
    ],
    [
      'excludes on a min-1 set with an empty value',
      where('mac', 'excludes', []),
      ['mac', 'excludes', ['set', []]],
    ],
    ['_uuid equality', whereUuid(CH), ['_uuid', '==', ['uuid', CH]]],
    [
      'a named-uuid reference',
      whereUuid(new NamedUuid('row_1', 'Chassis')),
      ['_uuid', '==', ['named-uuid', 'row_1']],
    ],
  ];
  it.each(cases)('encodes %s', (_what, clause, wire) => {
    expect(encodeTransactWhere(pb, [clause])).toEqual([wire]);
  });

  it('keeps several clauses and boolean literals in order; [] means all rows', () => {
    expect(encodeTransactWhere(pb, [true, where('logical_port', '!=', 'x'), false])).toEqual([
      true,
      ['logical_port', '!=', 'x'],
      false,
    ]);
    expect(encodeTransactWhere(pb, [])).toEqual([]);
  });

  const bad: [string, Clause, typeof SchemaError | typeof DatumError, RegExp][] = [
    [
      'an unknown column',
      where('nope', '==', 1),
      SchemaError,
      /Port_Binding\.nope: table Port_Binding has no column "nope"/,
    ],
    [
      '< on a string',
      where('logical_port', '<', 'a'),
      SchemaError,
      /"<" needs a scalar integer or real column, but logical_port is a scalar of string/,
    ],
    ['> on a set', where('additional_chassis', '>', 1), SchemaError, /needs a scalar integer or real column/],
    [
      'a value of the wrong type',
      where('tunnel_key', '==', 'one'),
      DatumError,
      /Port_Binding\.tunnel_key: expected a 64-bit integer .* got "one"/,
    ],
    ['a value out of range', where('tunnel_key', '==', 0), DatumError, /0 is less than the minimum 1/],
    ['== on a min-1 set with an empty value', where('mac', '==', []), DatumError, /has 0 elements/],
  ];
  it.each(bad)('rejects %s with a clear error', (_what, clause, errorClass, message) => {
    expect(() => encodeTransactWhere(pb, [clause])).toThrow(errorClass);
    expect(() => encodeTransactWhere(pb, [clause])).toThrow(message);
  });

  it('rejects an unknown function', () => {
    expect(() => where('logical_port', 'like' as ConditionFunction, 'x')).toThrow(
      /unknown condition function "like"/,
    );
  });
});

describe('encodeMonitorWhere (clauses ORed)', () => {
  it('sends true for all rows and false for none', () => {
    expect(encodeMonitorWhere(pb, true)).toEqual([true]);
    expect(encodeMonitorWhere(pb, false)).toEqual([false]);
  });

  it('treats [] as an empty disjunction: no rows, sent as [false] (E2)', () => {
    expect(encodeMonitorWhere(pb, [])).toEqual([false]);
  });

  it('encodes the agent condition: requested_chassis == me OR additional_chassis includes me', () => {
    expect(
      encodeMonitorWhere(pb, [
        where('requested_chassis', '==', CH),
        where('additional_chassis', 'includes', [CH]),
      ]),
    ).toEqual([
      ['requested_chassis', '==', ['uuid', CH]],
      ['additional_chassis', 'includes', ['set', [['uuid', CH]]]],
    ]);
  });
});

describe('dropClausesOnMissingColumns (E6)', () => {
  it('drops clauses on columns the server lacks and keeps literals', () => {
    const clauses = [
      where('requested_chassis', '==', CH),
      where('additional_chassis', 'includes', [CH]),
      true,
    ];
    const kept = dropClausesOnMissingColumns('Port_Binding', clauses, (_t, c) => c !== 'additional_chassis');
    expect(kept).toEqual([clauses[0], true]);
  });
});
