import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  columnDefault,
  compareAtoms,
  EMPTY_MAP,
  intersectSchemas,
  parseSchema,
  requireColumn,
  requireTable,
  restrictSchema,
  SchemaError,
  ZERO_UUID,
} from './schema.js';

/** A committed copy of a Debian-packaged schema (test/fixtures/ovsdb-schemas/README.md). */
const loadSchemaJson = (name: 'vswitch' | 'ovn-sb' | 'ovn-nb'): unknown =>
  JSON.parse(
    readFileSync(new URL(`../../test/fixtures/ovsdb-schemas/${name}.ovsschema`, import.meta.url), 'utf8'),
  );

/** A small schema exercising every RFC 7047 §3.2 feature. */
const TEST_SCHEMA_JSON = {
  name: 'Test_DB',
  version: '1.2.3',
  cksum: '12345 678',
  tables: {
    Root: {
      isRoot: true,
      maxRows: 1,
      columns: {
        bridges: { type: { key: { type: 'uuid', refTable: 'Bridge' }, min: 0, max: 'unlimited' } },
        next_cfg: { type: 'integer' },
        stats: { type: { key: 'string', value: 'integer', min: 0, max: 'unlimited' }, ephemeral: true },
      },
    },
    Bridge: {
      columns: {
        name: { type: 'string', mutable: false },
        ports: { type: { key: { type: 'uuid', refTable: 'Port' }, min: 0, max: 'unlimited' } },
        datapath_id: { type: { key: 'string', min: 0, max: 1 } },
        flood_vlans: {
          type: { key: { type: 'integer', minInteger: 0, maxInteger: 4095 }, min: 0, max: 4096 },
        },
        fail_mode: {
          type: { key: { type: 'string', enum: ['set', ['secure', 'standalone']] }, min: 0, max: 1 },
        },
        external_ids: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } },
        mirror: { type: { key: { type: 'uuid', refTable: 'Port', refType: 'weak' }, min: 0, max: 1 } },
        ratio: { type: { key: { type: 'real', minReal: 0, maxReal: 1 } } },
        enabled: { type: 'boolean' },
        label: { type: { key: { type: 'string', minLength: 1, maxLength: 3 }, min: 0, max: 1 } },
        pair: { type: { key: 'integer', min: 1, max: 2 } },
      },
      indexes: [['name']],
    },
    Port: {
      columns: {
        name: { type: 'string' },
        interfaces: { type: { key: { type: 'uuid', refTable: 'Port' }, min: 1, max: 'unlimited' } },
        tag: { type: { key: { type: 'integer', minInteger: 0, maxInteger: 4095 }, min: 0, max: 1 } },
        big: { type: 'integer' },
        id: { type: 'uuid' },
        weight: { type: 'real' },
      },
    },
  },
};

const testSchema = parseSchema(TEST_SCHEMA_JSON);

/** A deep copy of the test schema document, typed as loosely as a parsed file. */
function cloneSchemaJson<T = Record<string, unknown>>(): T {
  return JSON.parse(JSON.stringify(TEST_SCHEMA_JSON)) as T;
}

function expectSchemaError(json: unknown, where: string, message: RegExp): void {
  let caught: unknown;
  try {
    parseSchema(json);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(SchemaError);
  expect((caught as SchemaError).where).toBe(where);
  expect((caught as SchemaError).message).toMatch(message);
}

describe('parseSchema', () => {
  it('reads database name, version, cksum and tables (C1)', () => {
    expect(testSchema.name).toBe('Test_DB');
    expect(testSchema.version).toBe('1.2.3');
    expect(testSchema.cksum).toBe('12345 678');
    expect([...testSchema.tables.keys()]).toEqual(['Root', 'Bridge', 'Port']);
  });

  it('reads atomic types, enum, ranges, lengths, refTable and refType (C1)', () => {
    const bridge = requireTable(testSchema, 'Bridge');
    expect(requireColumn(bridge, 'name').type).toEqual({ key: { type: 'string' }, min: 1, max: 1 });
    expect(requireColumn(bridge, 'ports').type).toEqual({
      key: { type: 'uuid', refTable: 'Port', refType: 'strong' },
      min: 0,
      max: Infinity,
    });
    expect(requireColumn(bridge, 'mirror').type.key).toEqual({
      type: 'uuid',
      refTable: 'Port',
      refType: 'weak',
    });
    expect(requireColumn(bridge, 'fail_mode').type.key.enum).toEqual(['secure', 'standalone']);
    expect(requireColumn(bridge, 'flood_vlans').type).toEqual({
      key: { type: 'integer', minInteger: 0, maxInteger: 4095 },
      min: 0,
      max: 4096,
    });
    expect(requireColumn(bridge, 'ratio').type.key).toEqual({ type: 'real', minReal: 0, maxReal: 1 });
    expect(requireColumn(bridge, 'label').type.key).toEqual({ type: 'string', minLength: 1, maxLength: 3 });
    expect(requireColumn(bridge, 'external_ids').type.value).toEqual({ type: 'string' });
  });

  it('reads isRoot, maxRows, indexes, ephemeral and mutable (C1)', () => {
    const root = requireTable(testSchema, 'Root');
    const bridge = requireTable(testSchema, 'Bridge');
    expect(root.isRoot).toBe(true);
    expect(root.maxRows).toBe(1);
    expect(bridge.isRoot).toBe(false);
    expect(bridge.indexes).toEqual([['name']]);
    expect(requireColumn(root, 'stats').ephemeral).toBe(true);
    expect(requireColumn(root, 'next_cfg').ephemeral).toBe(false);
    expect(requireColumn(bridge, 'name').mutable).toBe(false);
    expect(requireColumn(bridge, 'ports').mutable).toBe(true);
  });

  it('treats every table as root when no table says isRoot (ovsdb-server compatibility)', () => {
    const json = cloneSchemaJson<{ tables: { Root: { isRoot?: boolean } } }>();
    delete json.tables.Root.isRoot;
    const schema = parseSchema(json);
    expect([...schema.tables.values()].every((t) => t.isRoot)).toBe(true);
  });

  it.each([
    ['scalar', 'Bridge', 'name'],
    ['optional', 'Bridge', 'datapath_id'],
    ['set', 'Bridge', 'flood_vlans'],
    ['set', 'Bridge', 'pair'],
    ['map', 'Bridge', 'external_ids'],
    ['map', 'Root', 'stats'],
  ])('classifies a column as %s (%s.%s)', (kind, table, column) => {
    expect(requireColumn(requireTable(testSchema, table), column).kind).toBe(kind);
  });

  it.each([
    ['integer', 0],
    ['real', 0],
    ['boolean', false],
    ['string', ''],
    ['uuid', ZERO_UUID],
  ])('gives a scalar %s column the RFC default %s', (type, expected) => {
    const schema = parseSchema({ name: 'D', tables: { T: { columns: { c: { type } } } } });
    expect(columnDefault(requireColumn(requireTable(schema, 'T'), 'c'))).toBe(expected);
  });

  it('gives optional, set and map columns an empty default', () => {
    const bridge = requireTable(testSchema, 'Bridge');
    expect(columnDefault(requireColumn(bridge, 'datapath_id'))).toBeUndefined();
    expect(columnDefault(requireColumn(bridge, 'ports'))).toEqual([]);
    expect(Object.isFrozen(columnDefault(requireColumn(bridge, 'ports')))).toBe(true);
    expect(columnDefault(requireColumn(bridge, 'external_ids'))).toBe(EMPTY_MAP);
    const shared: unknown = EMPTY_MAP;
    expect(() => (shared as Map<string, string>).set('a', 'b')).toThrow(/read-only/);
  });

  it('parses the Open_vSwitch and OVN schemas (test/fixtures/ovsdb-schemas)', () => {
    for (const name of ['vswitch', 'ovn-sb', 'ovn-nb'] as const) {
      const schema = parseSchema(loadSchemaJson(name));
      expect(schema.tables.size).toBeGreaterThan(1);
    }
    const ovs = parseSchema(loadSchemaJson('vswitch'));
    expect(ovs.name).toBe('Open_vSwitch');
    const port = requireTable(ovs, 'Port');
    expect(port.isRoot).toBe(false);
    expect(requireColumn(port, 'interfaces').type.min).toBe(1);
    expect(requireTable(ovs, 'Open_vSwitch').isRoot).toBe(true);
    expect(parseSchema(loadSchemaJson('ovn-sb')).name).toBe('OVN_Southbound');
    expect(parseSchema(loadSchemaJson('ovn-nb')).name).toBe('OVN_Northbound');
  });

  const bad: [string, (json: Record<string, unknown>) => void, string, RegExp][] = [
    [
      'an unknown atomic type',
      (j) => setColumn(j, 'Port', 'name', { type: 'strin' }),
      'Port.name',
      /unknown atomic type "strin"/,
    ],
    [
      'min 2',
      (j) => setColumn(j, 'Port', 'name', { type: { key: 'string', min: 2 } }),
      'Port.name',
      /min must be 0 or 1, got 2/,
    ],
    [
      'max 0',
      (j) => setColumn(j, 'Port', 'name', { type: { key: 'string', max: 0 } }),
      'Port.name',
      /max must be .* got 0/,
    ],
    [
      'max "many"',
      (j) => setColumn(j, 'Port', 'name', { type: { key: 'string', max: 'many' } }),
      'Port.name',
      /"many"/,
    ],
    [
      'minInteger on a string',
      (j) => setColumn(j, 'Port', 'name', { type: { key: { type: 'string', minInteger: 1 } } }),
      'Port.name',
      /minInteger is only valid for integer/,
    ],
    [
      'minInteger > maxInteger',
      (j) =>
        setColumn(j, 'Port', 'tag', { type: { key: { type: 'integer', minInteger: 5, maxInteger: 1 } } }),
      'Port.tag',
      /minInteger 5 is greater than maxInteger 1/,
    ],
    [
      'a refTable that does not exist',
      (j) => setColumn(j, 'Port', 'id', { type: { key: { type: 'uuid', refTable: 'Nope' } } }),
      'Port.id',
      /refTable "Nope"/,
    ],
    [
      'refType "soft"',
      (j) =>
        setColumn(j, 'Port', 'id', { type: { key: { type: 'uuid', refTable: 'Port', refType: 'soft' } } }),
      'Port.id',
      /refType must be .* got "soft"/,
    ],
    [
      'an enum value of the wrong type',
      (j) => setColumn(j, 'Port', 'name', { type: { key: { type: 'string', enum: ['set', ['a', 7]] } } }),
      'Port.name',
      /enum value 7 is not a string/,
    ],
    [
      'an unknown column member',
      (j) => setColumn(j, 'Port', 'name', { type: 'string', persistent: true }),
      'Port.name',
      /unknown member "persistent"/,
    ],
    [
      'a column name with a dash',
      (j) => setColumn(j, 'Port', 'bad-name', { type: 'string' }),
      'Port.bad-name',
      /invalid column name "bad-name"/,
    ],
    [
      'an index on an unknown column',
      (j) => setTable(j, 'Port', 'indexes', [['nope']]),
      'Port',
      /index names unknown column "nope"/,
    ],
    [
      'an index on an ephemeral column',
      (j) => setTable(j, 'Root', 'indexes', [['stats']]),
      'Root',
      /ephemeral/,
    ],
    [
      'isRoot "yes"',
      (j) => setTable(j, 'Port', 'isRoot', 'yes'),
      'Port',
      /isRoot must be a boolean, got "yes"/,
    ],
    [
      'maxRows 0',
      (j) => setTable(j, 'Port', 'maxRows', 0),
      'Port',
      /maxRows must be a positive integer, got 0/,
    ],
    ['a bad version', (j) => (j['version'] = '1.2'), '', /version must look like "x.y.z", got "1.2"/],
  ];
  it.each(bad)('rejects %s, naming the place and the value', (_what, mutate, where, message) => {
    const json = cloneSchemaJson();
    mutate(json);
    expectSchemaError(json, where, message);
  });

  it('rejects a non-object schema', () => {
    expectSchemaError('nope', '', /schema must be a JSON object, got "nope"/);
  });
});

function setColumn(json: Record<string, unknown>, table: string, column: string, value: unknown): void {
  const tables = json['tables'] as Record<string, { columns: Record<string, unknown> }>;
  tables[table]!.columns[column] = value;
}

function setTable(json: Record<string, unknown>, table: string, member: string, value: unknown): void {
  const tables = json['tables'] as Record<string, Record<string, unknown>>;
  tables[table]![member] = value;
}

describe('intersectSchemas (C6)', () => {
  const serverJson = cloneSchemaJson<{ tables: Record<string, { columns: Record<string, unknown> }> }>();
  delete serverJson.tables['Root'];
  delete serverJson.tables['Bridge']!.columns['mirror'];
  serverJson.tables['Bridge']!.columns['ratio'] = { type: 'string' }; // type changed on the server
  serverJson.tables['Bridge']!.columns['new_server_column'] = { type: 'string' };
  serverJson.tables['Port']!.columns['tag'] = {
    type: { key: { type: 'integer', minInteger: 0, maxInteger: 9999 }, min: 0, max: 1 },
  };
  const server = parseSchema(serverJson);
  const result = intersectSchemas(testSchema, server);

  it('drops tables and columns the server lacks, with one warning each', () => {
    expect([...result.schema.tables.keys()]).toEqual(['Bridge', 'Port']);
    expect(result.schema.tables.get('Bridge')!.columns.has('mirror')).toBe(false);
    expect(result.missingTables).toEqual(new Set(['Root']));
    expect(result.missingColumns.get('Bridge')).toEqual(new Set(['mirror', 'ratio']));
    expect(result.warnings).toEqual([
      "table Root is not in the server's Test_DB schema (database needs upgrade?)",
      "column Bridge.mirror is not in the server's schema (database needs upgrade?)",
      'column Bridge.ratio has a different type on the server; not replicated',
    ]);
  });

  it('ignores columns only the server has', () => {
    expect(result.schema.tables.get('Bridge')!.columns.has('new_server_column')).toBe(false);
  });

  it("uses the server's constraints for columns of the same shape", () => {
    expect(result.schema.tables.get('Port')!.columns.get('tag')!.type.key.maxInteger).toBe(9999);
  });

  it('answers serverHasTable / serverHasColumn', () => {
    expect(result.serverHasTable('Root')).toBe(false);
    expect(result.serverHasTable('Bridge')).toBe(true);
    expect(result.serverHasColumn('Bridge', 'mirror')).toBe(false);
    expect(result.serverHasColumn('Bridge', 'ratio')).toBe(false);
    expect(result.serverHasColumn('Bridge', 'name')).toBe(true);
    expect(result.serverHasColumn('Bridge', '_uuid')).toBe(true);
    expect(result.serverHasColumn('Root', 'next_cfg')).toBe(false);
  });

  it('gives no warnings for identical schemas', () => {
    const same = intersectSchemas(testSchema, testSchema);
    expect(same.warnings).toEqual([]);
    expect([...same.schema.tables.keys()]).toEqual(['Root', 'Bridge', 'Port']);
  });
});

describe('restrictSchema', () => {
  it('keeps only the named tables and columns', () => {
    const restricted = restrictSchema(testSchema, { Bridge: ['name', 'ports'], Port: undefined });
    expect([...restricted.tables.keys()]).toEqual(['Bridge', 'Port']);
    expect([...restricted.tables.get('Bridge')!.columns.keys()]).toEqual(['name', 'ports']);
    expect(restricted.tables.get('Port')!.columns.size).toBe(6);
  });

  it('names an unknown column', () => {
    expect(() => restrictSchema(testSchema, { Bridge: ['nope'] })).toThrow(
      /Bridge\.nope: table Bridge has no column "nope"/,
    );
  });
});

describe('compareAtoms', () => {
  it('orders strings by code point like ovsdb-server (UTF-8 byte order)', () => {
    const sorted = ['\u{1F600}', '\uFF01', 'b', 'a'].sort(compareAtoms);
    expect(sorted).toEqual(['a', 'b', '\uFF01', '\u{1F600}']);
  });

  it('orders integers of mixed JavaScript types numerically', () => {
    expect([2n ** 60n, 5, -3].sort(compareAtoms)).toEqual([-3, 5, 2n ** 60n]);
  });
});
