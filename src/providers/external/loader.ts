/**
 * Loading plug providers from ES modules named on the command line (`--provider-module=PATH`).
 *
 * What a module may export (ADR 0052):
 * - provider objects (anything with the contract's `type`, `prepare` or `maintainedIfaceOptions`),
 * - provider classes, constructed once as `new ProviderClass(context)` with a
 *   {@link ProviderContext} (a logger bound to the module and export),
 * - as the default export, named exports, or both; a default export may also be an array of them.
 * Other exports (helper functions, constants) are ignored, but a module that yields no provider at
 * all is an error. The same object or class exported under several names counts once.
 *
 * Every problem of every module is collected and thrown together as one
 * {@link ProviderModuleError}, each line naming the module path and the export, so an operator
 * fixes them in one round instead of one restart per mistake.
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { noopLogger } from '../../plug/index.js';
import type { PlugProvider, ProviderContext, ProviderLogger } from '../../plug/index.js';

/** One thing wrong with a provider module. */
export interface ProviderModuleProblem {
  /** The path as given on the command line. */
  readonly modulePath: string;
  /** `default`, `default[1]` or the named export; absent for problems of the whole module. */
  readonly exportName?: string;
  readonly message: string;
}

/** All problems found while loading provider modules; `message` lists every one of them. */
export class ProviderModuleError extends Error {
  override readonly name = 'ProviderModuleError';
  constructor(readonly problems: readonly ProviderModuleProblem[]) {
    super(
      `cannot load provider modules (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((problem) => `  ${formatProblem(problem)}`).join('\n'),
    );
  }
}

/** A provider and where it came from. */
export interface LoadedProvider {
  readonly provider: PlugProvider;
  readonly modulePath: string;
  readonly exportName: string;
}

export interface LoadProviderModulesOptions {
  /** Parent logger; each provider class gets one that adds `providerModule` and `providerExport`. */
  readonly logger?: ProviderLogger;
  /** Directory relative paths are resolved against. Default: the process's working directory. */
  readonly cwd?: string;
  /** Types already taken (built-in providers): a module provider with one of them is a problem. */
  readonly reservedTypes?: readonly string[];
}

const REQUIRED_METHODS = ['maintainedIfaceOptions', 'prepare'] as const;
const OPTIONAL_METHODS = ['init', 'destroy', 'run', 'finish', 'release', 'inventory'] as const;
const CONTRACT_KEYS = ['type', ...REQUIRED_METHODS];

function formatProblem(problem: ProviderModuleProblem): string {
  const where =
    problem.exportName === undefined
      ? problem.modulePath
      : `${problem.modulePath} (export ${problem.exportName})`;
  return `${where}: ${problem.message}`;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isClass(value: unknown): value is new (context: ProviderContext) => unknown {
  return typeof value === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(value));
}

function isProviderLike(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    CONTRACT_KEYS.some((key) => key in value)
  );
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  return value === null ? 'null' : typeof value;
}

function boundLogger(parent: ProviderLogger, fields: Record<string, string>): ProviderLogger {
  const bind =
    (level: keyof ProviderLogger) =>
    (extra: object, message?: string): void =>
      parent[level]({ ...fields, ...extra }, message);
  return { debug: bind('debug'), info: bind('info'), warn: bind('warn'), error: bind('error') };
}

/**
 * Checks that a value keeps the provider contract's shape.
 * @returns the problems, empty when it is a usable provider.
 */
export function providerShapeProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null)
    return [`is ${describeValue(value)}, not a provider object`];
  const record = value as Record<string, unknown>;
  const problems: string[] = [];
  const type = record['type'];
  if (typeof type !== 'string' || type.trim() === '') {
    problems.push(
      `"type" must be a non-empty string, got ${type === undefined ? 'nothing' : describeValue(type)}`,
    );
  }
  for (const method of REQUIRED_METHODS) {
    if (typeof record[method] !== 'function') {
      problems.push(
        `"${method}" must be a function, got ${record[method] === undefined ? 'nothing' : describeValue(record[method])}`,
      );
    }
  }
  for (const method of OPTIONAL_METHODS) {
    if (record[method] !== undefined && typeof record[method] !== 'function') {
      problems.push(`"${method}" must be a function when present, got ${describeValue(record[method])}`);
    }
  }
  if (problems.length === 0) {
    try {
      const maintained: unknown = (record['maintainedIfaceOptions'] as () => unknown).call(value);
      if (!Array.isArray(maintained) || !maintained.every((key) => typeof key === 'string')) {
        problems.push(
          `maintainedIfaceOptions() must return an array of strings, got ${describeValue(maintained)}`,
        );
      }
    } catch (error) {
      problems.push(`maintainedIfaceOptions() threw: ${errorText(error)}`);
    }
  }
  return problems;
}

interface Candidate {
  readonly exportName: string;
  readonly value: unknown;
}

function candidatesOf(namespace: Record<string, unknown>): Candidate[] {
  const candidates: Candidate[] = [];
  const seen = new Set<unknown>();
  const consider = (exportName: string, value: unknown): void => {
    if (seen.has(value)) return;
    if (isClass(value) || isProviderLike(value)) {
      seen.add(value);
      candidates.push({ exportName, value });
    }
  };
  const defaultExport = namespace['default'];
  if (Array.isArray(defaultExport)) {
    defaultExport.forEach((value: unknown, i) => {
      if (isClass(value) || isProviderLike(value)) consider(`default[${i}]`, value);
      else candidates.push({ exportName: `default[${i}]`, value });
    });
  } else {
    consider('default', defaultExport);
  }
  for (const [name, value] of Object.entries(namespace)) {
    if (name !== 'default') consider(name, value);
  }
  return candidates;
}

async function loadOne(
  modulePath: string,
  options: LoadProviderModulesOptions,
  problems: ProviderModuleProblem[],
): Promise<LoadedProvider[]> {
  const absolute = isAbsolute(modulePath) ? modulePath : resolve(options.cwd ?? process.cwd(), modulePath);
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(pathToFileURL(absolute).href)) as Record<string, unknown>;
  } catch (error) {
    problems.push({ modulePath, message: `cannot import ${absolute}: ${errorText(error)}` });
    return [];
  }
  const candidates = candidatesOf(namespace);
  if (candidates.length === 0) {
    const names = Object.keys(namespace);
    problems.push({
      modulePath,
      message:
        `exports no provider object or class (exports: ${names.length === 0 ? 'none' : names.join(', ')}); ` +
        'export a provider object or class as default or named export (docs/providers.md)',
    });
    return [];
  }
  const loaded: LoadedProvider[] = [];
  for (const { exportName, value } of candidates) {
    let instance: unknown = value;
    if (isClass(value)) {
      const logger = boundLogger(options.logger ?? noopLogger, {
        providerModule: modulePath,
        providerExport: exportName,
      });
      try {
        instance = new value({ logger });
      } catch (error) {
        problems.push({ modulePath, exportName, message: `constructor threw: ${errorText(error)}` });
        continue;
      }
    }
    const shapeProblems = providerShapeProblems(instance);
    if (shapeProblems.length > 0) {
      for (const message of shapeProblems) problems.push({ modulePath, exportName, message });
      continue;
    }
    loaded.push({ provider: instance as PlugProvider, modulePath, exportName });
  }
  return loaded;
}

/**
 * Imports the given modules and returns their providers, validated and ready to register.
 * @throws ProviderModuleError listing every problem of every module (nothing is returned then).
 */
export async function loadProviderModules(
  paths: readonly string[],
  options: LoadProviderModulesOptions = {},
): Promise<readonly LoadedProvider[]> {
  const problems: ProviderModuleProblem[] = [];
  const loaded: LoadedProvider[] = [];
  for (const modulePath of paths) loaded.push(...(await loadOne(modulePath, options, problems)));
  const reserved = new Set(options.reservedTypes ?? []);
  const byType = new Map<string, LoadedProvider>();
  for (const entry of loaded) {
    const type = entry.provider.type;
    const first = byType.get(type);
    if (reserved.has(type)) {
      problems.push({
        modulePath: entry.modulePath,
        exportName: entry.exportName,
        message: `type "${type}" is already taken by a built-in provider`,
      });
    } else if (first !== undefined) {
      problems.push({
        modulePath: entry.modulePath,
        exportName: entry.exportName,
        message: `type "${type}" is already provided by ${first.modulePath} (export ${first.exportName})`,
      });
    } else {
      byType.set(type, entry);
    }
  }
  if (problems.length > 0) throw new ProviderModuleError(problems);
  for (const entry of loaded) {
    options.logger?.info(
      { providerModule: entry.modulePath, providerExport: entry.exportName, type: entry.provider.type },
      'loaded provider module',
    );
  }
  return loaded;
}
