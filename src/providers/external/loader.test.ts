import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ProviderModuleError, loadProviderModules, providerShapeProblems } from './loader.js';

const dir = mkdtempSync(join(tmpdir(), 'provider-modules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
/** Writes an ES module into the temp dir and returns its path. */
function moduleFile(source: string, name?: string): string {
  counter += 1;
  const path = join(dir, name ?? `module-${counter}.mjs`);
  writeFileSync(path, source);
  return path;
}

async function problemsOf(paths: string[], options = {}): Promise<string[]> {
  try {
    await loadProviderModules(paths, options);
  } catch (error) {
    if (error instanceof ProviderModuleError)
      return error.problems.map((p) => `${p.exportName ?? '-'}: ${p.message}`);
    throw error;
  }
  throw new Error('expected loadProviderModules to fail');
}

const OBJECT_PROVIDER = `{
  type: 'obj',
  maintainedIfaceOptions() { return ['k']; },
  prepare(request) { return { kind: 'ready', name: request.logicalPort, options: {} }; },
}`;

describe('loadProviderModules: what a module may export', () => {
  it('loads a default-exported provider object', async () => {
    const path = moduleFile(`export default ${OBJECT_PROVIDER};`);
    const [loaded, ...rest] = await loadProviderModules([path]);
    expect(rest).toEqual([]);
    expect(loaded?.exportName).toBe('default');
    expect(loaded?.modulePath).toBe(path);
    expect(loaded?.provider.type).toBe('obj');
    expect(loaded?.provider.prepare({ operation: 'create', logicalPort: 'lp', options: {} })).toEqual({
      kind: 'ready',
      name: 'lp',
      options: {},
    });
  });

  it('constructs a provider class once with a context whose logger names module and export', async () => {
    const path = moduleFile(`
      export let constructed = 0;
      export class VethLikeProvider {
        type = 'cls';
        constructor(context) { constructed += 1; this.logger = context.logger; context.logger.info({ hello: 1 }, 'constructed'); }
        maintainedIfaceOptions() { return []; }
        prepare() { return { kind: 'notNow', reason: 'never' }; }
      }
      export default VethLikeProvider;
      export function helper() { return 42; }
      export const VERSION = '1.0';
    `);
    const lines: { fields: object; message?: string }[] = [];
    const logger = {
      debug: () => undefined,
      warn: () => undefined,
      error: () => undefined,
      info: (fields: object, message?: string) =>
        lines.push(message === undefined ? { fields } : { fields, message }),
    };
    const loaded = await loadProviderModules([path], { logger });
    expect(loaded.map((l) => [l.exportName, l.provider.type])).toEqual([['default', 'cls']]);
    const namespace = (await import(path)) as { constructed: number };
    expect(namespace.constructed).toBe(1);
    expect(lines[0]).toEqual({
      fields: { providerModule: path, providerExport: 'default', hello: 1 },
      message: 'constructed',
    });
  });

  it('loads several named exports and a default array, relative to cwd', async () => {
    moduleFile(
      `export const a = { ...${OBJECT_PROVIDER}, type: 'a' };
       export const b = { ...${OBJECT_PROVIDER}, type: 'b' };
       export default [{ ...${OBJECT_PROVIDER}, type: 'c' }, a];`,
      'many.mjs',
    );
    const loaded = await loadProviderModules(['./many.mjs'], { cwd: dir });
    expect(loaded.map((l) => `${l.exportName}=${l.provider.type}`)).toEqual([
      'default[0]=c',
      'default[1]=a',
      'b=b',
    ]);
  });

  it('loads the veth example provider module', async () => {
    const example = new URL('../../../examples/provider-veth/index.ts', import.meta.url).pathname;
    const loaded = await loadProviderModules([example]);
    expect(loaded.map((l) => [l.exportName, l.provider.type])).toEqual([['default', 'veth']]);
  });
});

describe('loadProviderModules: every problem at once, with module path and export name', () => {
  it('reports all shape problems of all modules in one error', async () => {
    const broken = moduleFile(`
      export const noType = { maintainedIfaceOptions() { return []; }, prepare() {} };
      export const badMethods = { type: 'x', maintainedIfaceOptions: ['a'], prepare: 'no', run: true };
      export const badMaintained = { type: 'y', maintainedIfaceOptions() { return [1]; }, prepare() {} };
    `);
    const throwing = moduleFile(
      `export default class Boom { constructor() { throw new Error('no devlink here'); } }`,
    );
    const missing = join(dir, 'does-not-exist.mjs');
    const importError = await import(missing).then(
      () => 'imported?',
      (e: unknown) => (e instanceof Error ? e.message : String(e)),
    );
    const empty = moduleFile(`export const answer = 42; export function helper() {}`);
    const error = await loadProviderModules([broken, throwing, missing, empty]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderModuleError);
    const problems = error instanceof ProviderModuleError ? error.problems : [];
    expect(problems.map((p) => [p.modulePath, p.exportName ?? '-', p.message])).toEqual([
      [broken, 'noType', '"type" must be a non-empty string, got nothing'],
      [broken, 'badMethods', '"maintainedIfaceOptions" must be a function, got an array'],
      [broken, 'badMethods', '"prepare" must be a function, got "no"'],
      [broken, 'badMethods', '"run" must be a function when present, got boolean'],
      [broken, 'badMaintained', 'maintainedIfaceOptions() must return an array of strings, got an array'],
      [throwing, 'default', 'constructor threw: no devlink here'],
      [missing, '-', `cannot import ${missing}: ${importError}`],
      [
        empty,
        '-',
        'exports no provider object or class (exports: answer, helper); export a provider object or class as default or named export (docs/providers.md)',
      ],
    ]);
    expect(error instanceof Error ? error.message : '').toContain(
      `cannot load provider modules (8 problems):\n  ${broken} (export noType): "type"`,
    );
  });

  it('reports a syntax error with the module path', async () => {
    const path = moduleFile('export default {');
    const [problem] = await problemsOf([path]);
    expect(problem).toMatch(/^-: cannot import .*: /);
  });

  it('reports duplicate types across modules and types taken by built-ins', async () => {
    const one = moduleFile(`export default { ...${OBJECT_PROVIDER}, type: 'dup' };`);
    const two = moduleFile(`export const again = { ...${OBJECT_PROVIDER}, type: 'dup' };
      export const builtin = { ...${OBJECT_PROVIDER}, type: 'representor' };`);
    expect(await problemsOf([one, two], { reservedTypes: ['dummy', 'representor'] })).toEqual([
      `again: type "dup" is already provided by ${one} (export default)`,
      'builtin: type "representor" is already taken by a built-in provider',
    ]);
  });

  it('reports non-provider elements of a default array', async () => {
    const path = moduleFile(`export default [${OBJECT_PROVIDER}, 7];`);
    expect(await problemsOf([path])).toEqual(['default[1]: is number, not a provider object']);
  });
});

describe('providerShapeProblems', () => {
  it('accepts a complete provider and rejects non-objects', () => {
    expect(
      providerShapeProblems({
        type: 't',
        maintainedIfaceOptions: () => [],
        prepare: () => ({ kind: 'notNow', reason: 'x' }),
        run: () => false,
        inventory: () => ({ items: [] }),
      }),
    ).toEqual([]);
    expect(providerShapeProblems(null)).toEqual(['is null, not a provider object']);
  });

  it('reports a maintainedIfaceOptions() that throws', () => {
    expect(
      providerShapeProblems({
        type: 't',
        maintainedIfaceOptions: () => {
          throw new Error('oops');
        },
        prepare: () => undefined,
      }),
    ).toEqual(['maintainedIfaceOptions() threw: oops']);
  });
});
