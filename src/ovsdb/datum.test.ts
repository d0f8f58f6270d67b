import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyDatumDiff,
  datumEquals,
  DatumError,
  decodeDatum,
  encodeDatum,
  NamedUuid,
  type Datum,
  type DatumInput,
} from './datum.js';
import { parseSchema, requireColumn, requireTable, type ColumnType } from './schema.js';

const schema = parseSchema({
  name: 'Datum_Test',
  tables: {
    T: {
      columns: {
        name: { type: 'string' },
        count: { type: 'integer' },
        ratio: { type: 'real' },
        flag: { type: 'boolean' },
        ref: { type: 'uuid' },
        opt: { type: { key: 'string', min: 0, max: 1 } },
        vlans: { type: { key: { type: 'integer', minInteger: 0, maxInteger: 4095 }, min: 0, max: 4096 } },
        tags: { type: { key: 'string', min: 0, max: 'unlimited' } },
        ifaces: { type: { key: 'uuid', min: 1, max: 'unlimited' } },
        two: { type: { key: 'integer', min: 0, max: 2 } },
        ids: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } },
        stats: { type: { key: 'string', value: 'integer', min: 0, max: 'unlimited' } },
        mode: { type: { key: { type: 'string', enum: ['set', ['secure', 'standalone']] }, min: 0, max: 1 } },
        short: { type: { key: { type: 'string', minLength: 1, maxLength: 3 } } },
        frac: { type: { key: { type: 'real', minReal: 0, maxReal: 1 } } },
        port: { type: { key: { type: 'uuid', refTable: 'T' }, min: 0, max: 'unlimited' } },
        byPort: { type: { key: 'string', value: { type: 'uuid', refTable: 'T' }, min: 0, max: 'unlimited' } },
      },
    },
  },
});
const table = requireTable(schema, 'T');
const typeOf = (column: string): ColumnType => requireColumn(table, column).type;

const U1 = '11111111-2222-3333-4444-555555555555';
const U2 = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';

describe('decodeDatum', () => {
  const cases: [string, string, unknown, Datum][] = [
    ['a string scalar', 'name', 'br0', 'br0'],
    ['an integer scalar', 'count', 42, 42],
    ['a real scalar sent as a JSON integer', 'ratio', 1, 1],
    ['a boolean scalar', 'flag', true, true],
    ['a uuid scalar (lower-cased)', 'ref', ['uuid', U2.toUpperCase()], U2],
    ['a scalar sent as a one-element set', 'name', ['set', ['br0']], 'br0'],
    ['an empty optional', 'opt', ['set', []], undefined],
    ['an optional bare atom', 'opt', 'x', 'x'],
    ['an optional one-element set', 'opt', ['set', ['x']], 'x'],
    ['a set sent as a bare atom (C2)', 'vlans', 7, [7]],
    ['a uuid set sent as a bare uuid (C2)', 'ifaces', ['uuid', U1], [U1]],
    ['a set', 'vlans', ['set', [1, 2, 3]], [1, 2, 3]],
    ['an empty set', 'tags', ['set', []], []],
    ['an enum member', 'mode', 'secure', 'secure'],
  ];
  it.each(cases)('decodes %s', (_what, column, wire, expected) => {
    expect(decodeDatum(typeOf(column), wire, `T.${column}`)).toEqual(expected);
  });

  it('decodes maps into ReadonlyMap keeping the server order', () => {
    const value = decodeDatum(typeOf('ids'), [
      'map',
      [
        ['a', '1'],
        ['b', '2'],
      ],
    ]);
    expect(value).toBeInstanceOf(Map);
    expect([...(value as ReadonlyMap<string, string>)]).toEqual([
      ['a', '1'],
      ['b', '2'],
    ]);
  });

  it('freezes decoded sets', () => {
    expect(Object.isFrozen(decodeDatum(typeOf('tags'), ['set', ['a', 'b']]))).toBe(true);
  });

  describe('64-bit integers (C4)', () => {
    it('keeps a bigint beyond 2^53 as an exact bigint', () => {
      const value = decodeDatum(typeOf('stats'), ['map', [['rx_bytes', 9007199254740993n]]]) as ReadonlyMap<
        string,
        unknown
      >;
      expect(value.get('rx_bytes')).toBe(9007199254740993n);
    });

    it('normalises a bigint in the safe range to a number, so equal values are equal map keys', () => {
      expect(decodeDatum(typeOf('count'), 5n)).toBe(5);
      expect(decodeDatum(typeOf('vlans'), ['set', [5n, 6]])).toEqual([5, 6]);
    });

    it('refuses a JSON number that already lost precision', () => {
      expect(() => decodeDatum(typeOf('count'), 2 ** 60, 'T.count')).toThrow(/lost precision/);
    });

    it('refuses integers outside the 64-bit range', () => {
      expect(() => decodeDatum(typeOf('count'), 2n ** 63n, 'T.count')).toThrow(/outside the 64-bit range/);
    });
  });

  const bad: [string, string, unknown, RegExp][] = [
    ['a number for a string', 'name', 5, /T\.name: expected a string, got 5/],
    ['a fraction for an integer', 'count', 1.5, /expected an integer, got 1.5/],
    ['a string for a boolean', 'flag', 'true', /expected a boolean, got "true"/],
    ['a malformed uuid', 'ref', ['uuid', 'xyz'], /expected \["uuid", "<uuid>"\], got \["uuid","xyz"\]/],
    ['a named-uuid from a server', 'ref', ['named-uuid', 'row_1'], /expected \["uuid"/],
    ['an empty scalar', 'name', ['set', []], /has 0 elements, the column allows exactly 1/],
    ['two values for an optional', 'opt', ['set', ['a', 'b']], /has 2 elements, the column allows 0 to 1/],
    ['too many set elements', 'two', ['set', [1, 2, 3]], /has 3 elements, the column allows 0 to 2/],
    ['an empty min-1 set', 'ifaces', ['set', []], /has 0 elements, the column allows at least 1/],
    ['an integer above maxInteger', 'vlans', ['set', [4096]], /4096 is greater than the maximum 4095/],
    [
      'a value outside the enum',
      'mode',
      'open',
      /"open" is not one of the allowed values \["secure","standalone"\]/,
    ],
    ['a too long string', 'short', 'abcd', /"abcd" is longer than 3 characters/],
    ['a too short string', 'short', '', /"" is shorter than 1 characters/],
    ['a real above maxReal', 'frac', 1.5, /1.5 is greater than the maximum 1/],
    ['a set with a duplicate', 'tags', ['set', ['a', 'a']], /duplicate/],
    [
      'a map with a duplicate key',
      'ids',
      [
        'map',
        [
          ['a', '1'],
          ['a', '2'],
        ],
      ],
      /key "a" twice/,
    ],
    ['a set for a map', 'ids', ['set', []], /expected \["map"/],
    ['a map for a set', 'tags', ['map', []], /got a map/],
  ];
  it.each(bad)('rejects %s with an error naming the column and value', (_what, column, wire, message) => {
    let caught: unknown;
    try {
      decodeDatum(typeOf(column), wire, `T.${column}`);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DatumError);
    expect((caught as DatumError).message).toMatch(message);
    expect((caught as DatumError).where).toBe(`T.${column}`);
  });

  it('counts string length in code points, as ovsdb-server does', () => {
    expect(decodeDatum(typeOf('short'), '😀😀😀')).toBe('😀😀😀');
  });
});

describe('decodeDatum / applyDatumDiff: UUID interning', () => {
  it('asks the interner for the string of every UUID atom with a refTable, and keeps what it returns', () => {
    const asked: [string, string][] = [];
    const kept = new Map([[U1, U1]]);
    const intern = (refTable: string, uuid: string): string => {
      asked.push([refTable, uuid]);
      return kept.get(uuid) ?? uuid;
    };
    expect(
      decodeDatum(
        typeOf('port'),
        [
          'set',
          [
            ['uuid', U1.toUpperCase()],
            ['uuid', U2],
          ],
        ],
        '',
        intern,
      ),
    ).toEqual([U1, U2]);
    expect(decodeDatum(typeOf('byPort'), ['map', [['a', ['uuid', U1]]]], '', intern)).toEqual(
      new Map([['a', U1]]),
    );
    expect(applyDatumDiff(typeOf('port'), [U1], ['uuid', U2], '', intern)).toEqual([U1, U2]);
    expect(asked).toEqual([
      ['T', U1],
      ['T', U2],
      ['T', U1],
      ['T', U2],
    ]);
    // No refTable: not asked.
    decodeDatum(typeOf('ref'), ['uuid', U1], '', intern);
    expect(asked).toHaveLength(4);
  });

  it('decodes every empty set to one shared frozen array', () => {
    const a = decodeDatum(typeOf('tags'), ['set', []]);
    expect(decodeDatum(typeOf('vlans'), ['set', []])).toBe(a);
    expect(applyDatumDiff(typeOf('vlans'), [5], 5)).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
  });
});

describe('applyDatumDiff (update2 modify rules, checklist §1.4 / D5)', () => {
  it('replaces a scalar with the diff value', () => {
    expect(applyDatumDiff(typeOf('name'), 'aaaa', 'bbbb')).toBe('bbbb');
  });

  it('replaces an optional with the diff value, and clears it with an empty set', () => {
    expect(applyDatumDiff(typeOf('opt'), undefined, 'x')).toBe('x');
    expect(applyDatumDiff(typeOf('opt'), 'x', 'y')).toBe('y');
    expect(applyDatumDiff(typeOf('opt'), 'y', ['set', []])).toBeUndefined();
  });

  it('applies a set diff as the symmetric difference: {1,2,3} + [1,4] = {2,3,4}', () => {
    expect(applyDatumDiff(typeOf('vlans'), [1, 2, 3], ['set', [1, 4]])).toEqual([2, 3, 4]);
  });

  it('applies a bare-atom set diff', () => {
    expect(applyDatumDiff(typeOf('vlans'), [1, 2], 3)).toEqual([1, 2, 3]);
    expect(applyDatumDiff(typeOf('vlans'), [1, 2], 1)).toEqual([2]);
  });

  it('sorts the result as the server does, so it equals a fresh initial value', () => {
    expect(applyDatumDiff(typeOf('tags'), ['b', 'd'], ['set', ['a', 'c']])).toEqual(['a', 'b', 'c', 'd']);
  });

  it('applies a map diff: {k1:v1,k2:v2} + [[k1,v1x],[k2,v2],[k3,v3]] = {k1:v1x,k3:v3}', () => {
    const old = new Map([
      ['k1', 'v1'],
      ['k2', 'v2'],
    ]);
    const next = applyDatumDiff(typeOf('ids'), old, [
      'map',
      [
        ['k1', 'v1x'],
        ['k2', 'v2'],
        ['k3', 'v3'],
      ],
    ]);
    expect([...(next as ReadonlyMap<string, string>)]).toEqual([
      ['k1', 'v1x'],
      ['k3', 'v3'],
    ]);
    expect([...old]).toEqual([
      ['k1', 'v1'],
      ['k2', 'v2'],
    ]);
  });

  it('checks the size after applying, as ovsdb_datum_apply_diff does', () => {
    expect(() => applyDatumDiff(typeOf('two'), [1, 2], ['set', [3]], 'T.two')).toThrow(
      /T\.two: has 3 elements, the column allows 0 to 2/,
    );
    expect(() => applyDatumDiff(typeOf('ifaces'), [U1], ['set', [['uuid', U1]]], 'T.ifaces')).toThrow(
      /at least 1/,
    );
  });

  it('validates the atoms of a diff', () => {
    expect(() => applyDatumDiff(typeOf('vlans'), [1], ['set', [5000]], 'T.vlans')).toThrow(
      /5000 is greater than the maximum 4095/,
    );
  });

  it('applying the same diff twice undoes it (why diffs must be applied exactly once)', () => {
    const once = applyDatumDiff(typeOf('vlans'), [1, 2, 3], ['set', [1, 4]]);
    expect(applyDatumDiff(typeOf('vlans'), once, ['set', [1, 4]])).toEqual([1, 2, 3]);
  });
});

describe('applyDatumDiff: property — applying the server-computed diff of (old, new) to old gives new', () => {
  // The diff a server computes (ovsdb_datum_diff): sets → symmetric difference; maps → the new
  // pairs that are missing or different in old, plus the old pairs whose key is gone in new.
  function setDiff(oldSet: readonly string[], newSet: readonly string[]): string[] {
    const o = new Set(oldSet);
    const n = new Set(newSet);
    return [...oldSet.filter((x) => !n.has(x)), ...newSet.filter((x) => !o.has(x))];
  }
  function mapDiff(
    oldMap: ReadonlyMap<string, string>,
    newMap: ReadonlyMap<string, string>,
  ): [string, string][] {
    const out: [string, string][] = [];
    for (const [k, v] of newMap) if (oldMap.get(k) !== v) out.push([k, v]);
    for (const [k, v] of oldMap) if (!newMap.has(k)) out.push([k, v]);
    return out;
  }
  const sortedUnique = (xs: string[]): string[] =>
    [...new Set(xs)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const key = fc.string({ maxLength: 3 });

  it('holds for sets', () => {
    fc.assert(
      fc.property(fc.array(key, { maxLength: 12 }), fc.array(key, { maxLength: 12 }), (a, b) => {
        const oldSet = sortedUnique(a);
        const newSet = sortedUnique(b);
        const result = applyDatumDiff(typeOf('tags'), oldSet, ['set', setDiff(oldSet, newSet)]);
        expect(result).toEqual(newSet);
      }),
      { numRuns: 300 },
    );
  });

  it('holds for maps', () => {
    fc.assert(
      fc.property(
        fc.dictionary(key, key, { maxKeys: 8 }),
        fc.dictionary(key, key, { maxKeys: 8 }),
        (a, b) => {
          const oldMap = new Map(Object.entries(a).sort());
          const newMap = new Map(Object.entries(b).sort());
          const result = applyDatumDiff(typeOf('ids'), oldMap, ['map', mapDiff(oldMap, newMap)]);
          expect(datumEquals(result, newMap)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('encodeDatum', () => {
  const cases: [string, string, DatumInput, unknown][] = [
    ['a string scalar', 'name', 'br0', 'br0'],
    ['a uuid scalar', 'ref', U1, ['uuid', U1]],
    ['an empty optional', 'opt', undefined, ['set', []]],
    ['an optional value', 'opt', 'x', 'x'],
    ['a set from an array', 'vlans', [1, 2], ['set', [1, 2]]],
    ['a set from a Set', 'tags', new Set(['a']), ['set', ['a']]],
    ['a map from a Map', 'ids', new Map([['k', 'v']]), ['map', [['k', 'v']]]],
    ['a map from a record', 'ids', { k: 'v' }, ['map', [['k', 'v']]]],
    ['a bigint beyond 2^53 (kept exact)', 'count', 2n ** 60n, 2n ** 60n],
    [
      'a named-uuid reference',
      'ifaces',
      [new NamedUuid('row_1', 'Interface')],
      ['set', [['named-uuid', 'row_1']]],
    ],
    ['an explicit-uuid reference', 'ref', new NamedUuid('row_2', 'T', U2), ['uuid', U2]],
  ];
  it.each(cases)('encodes %s', (_what, column, value, wire) => {
    expect(encodeDatum(typeOf(column), value, `T.${column}`)).toEqual(wire);
  });

  const bad: [string, string, DatumInput, RegExp][] = [
    ['a string for an integer', 'count', '5', /T\.count: expected a 64-bit integer .* got "5"/],
    ['an unsafe JS number for an integer', 'count', 2 ** 60, /expected a 64-bit integer/],
    [
      'a non-uuid string for a uuid',
      'ref',
      'not-a-uuid',
      /expected a UUID string or a row reference, got "not-a-uuid"/,
    ],
    [
      'a reference for a string',
      'name',
      new NamedUuid('row_1', 'X'),
      /a row reference \(row_1\) is not a string/,
    ],
    ['too many elements', 'two', [1, 2, 3], /has 3 elements/],
    ['an array for a map', 'ids', ['a'], /expected a map/],
    ['a value outside the enum', 'mode', 'open', /not one of the allowed values/],
    ['undefined for a scalar', 'name', undefined, /has 0 elements, the column allows exactly 1/],
  ];
  it.each(bad)('rejects %s, naming the column and value', (_what, column, value, message) => {
    expect(() => encodeDatum(typeOf(column), value, `T.${column}`)).toThrow(message);
  });

  it('refuses an illegal uuid-name (C5)', () => {
    expect(() => new NamedUuid('row-1', 'T')).toThrow(/invalid uuid-name "row-1"/);
  });

  it('round-trips decode(encode(x)) for every column kind', () => {
    const values: [string, Datum][] = [
      ['name', 'x'],
      ['count', -7],
      ['count', -(2n ** 62n)],
      ['ref', U1],
      ['opt', undefined],
      ['vlans', [1, 4095]],
      ['ids', new Map([['a', 'b']])],
    ];
    for (const [column, value] of values) {
      const back = decodeDatum(typeOf(column), encodeDatum(typeOf(column), value));
      expect(datumEquals(back, value)).toBe(true);
    }
  });
});

describe('datumEquals', () => {
  it('compares sets as sets and maps by entries', () => {
    expect(datumEquals([1, 2], [2, 1])).toBe(true);
    expect(datumEquals([1, 2], [1, 3])).toBe(false);
    expect(datumEquals(new Map([['a', '1']]), new Map([['a', '1']]))).toBe(true);
    expect(datumEquals(new Map([['a', '1']]), new Map([['a', '2']]))).toBe(false);
    expect(datumEquals(undefined, 'x')).toBe(false);
  });
});
