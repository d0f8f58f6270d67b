// @ts-check
/**
 * ESLint rule `boundaries/folder-boundaries` (ADR 0109): the project's folder boundaries, checked on
 * every import, export-from and literal dynamic import under `src/`.
 *
 * A *folder* is a directory under `src/` with an `index.ts`; a file belongs to the deepest such
 * directory above it (`src/agent/status/table.ts` belongs to `src/agent`). Three rules:
 *
 * 1. `src/ovsdb` imports nothing from the project: only Node built-ins and packages.
 * 2. `src/plug` imports no I/O: no Node built-in that reaches the outside world (files, sockets,
 *    processes, the environment), and nothing from the project's I/O folders (`src/ovsdb`,
 *    `src/agent`, `src/providers/*`) except type-only imports.
 * 3. Everywhere else, a file imports another folder only through that folder's `index.ts`. A
 *    folder's own sub-folders are other folders too (`src/agent` reaches `src/agent/kube` through
 *    its index), while a sub-folder may use its parent's files (it is part of the parent).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

/** Node built-ins that do I/O or read the process's environment. */
const IO_BUILTINS = new Set([
  'child_process',
  'cluster',
  'dgram',
  'dns',
  'dns/promises',
  'fs',
  'fs/promises',
  'http',
  'http2',
  'https',
  'inspector',
  'net',
  'os',
  'process',
  'readline',
  'readline/promises',
  'tls',
  'worker_threads',
]);

/** @type {Map<string, boolean>} */
const indexCache = new Map();

/** @param {string} dir */
function hasIndex(dir) {
  let known = indexCache.get(dir);
  if (known === undefined) {
    known = existsSync(path.join(dir, 'index.ts'));
    indexCache.set(dir, known);
  }
  return known;
}

/**
 * The folder (directory with an index.ts) a path belongs to, or undefined outside `srcRoot`.
 * @param {string} file absolute path, with or without extension
 * @param {string} srcRoot
 */
function folderOf(file, srcRoot) {
  let dir = path.dirname(file);
  while (dir.startsWith(srcRoot + path.sep)) {
    if (hasIndex(dir)) return dir;
    dir = path.dirname(dir);
  }
  return undefined;
}

/** @param {string} p */
function withoutExtension(p) {
  return p.replace(/\.(js|ts|mjs|cjs)$/, '');
}

/**
 * @param {string} ancestor
 * @param {string} dir
 */
function isSelfOrAncestor(ancestor, dir) {
  return dir === ancestor || dir.startsWith(ancestor + path.sep);
}

/** @type {import('eslint').Rule.RuleModule} */
export const folderBoundaries = {
  meta: {
    type: 'problem',
    docs: { description: 'Folder boundaries under src/ (ADR 0109)' },
    schema: [
      {
        type: 'object',
        properties: { srcRoot: { type: 'string' } },
        additionalProperties: false,
      },
    ],
    messages: {
      ovsdbImportsProject:
        'src/ovsdb imports nothing from the project, but this imports "{{source}}" ({{target}})',
      plugImportsIo: 'src/plug imports no I/O modules, but this imports "{{source}}"',
      deepImport:
        'import {{targetFolder}} through its index.ts, not "{{source}}" (folder boundary, ADR 0109)',
    },
  },
  create(context) {
    /** @type {{ srcRoot?: string }} */
    const options = context.options[0] ?? {};
    const srcRoot = path.resolve(context.cwd, options.srcRoot ?? 'src');
    const filename = path.resolve(context.filename);
    const fileFolder = folderOf(filename, srcRoot);
    if (fileFolder === undefined) return {};
    const relFolder = path.relative(srcRoot, fileFolder).split(path.sep).join('/');
    const inOvsdb = relFolder === 'ovsdb';
    const inPlug = relFolder === 'plug';

    /**
     * @param {import('estree').Node} node
     * @param {unknown} value
     * @param {boolean} typeOnly
     */
    function check(node, value, typeOnly) {
      if (typeof value !== 'string') return;
      const source = value;
      if (!source.startsWith('.')) {
        const builtin = source.startsWith('node:') ? source.slice('node:'.length) : source;
        if (inPlug && IO_BUILTINS.has(builtin)) {
          context.report({ node, messageId: 'plugImportsIo', data: { source } });
        }
        return;
      }
      const target = withoutExtension(path.resolve(path.dirname(filename), source));
      const targetRel = path.relative(path.dirname(srcRoot), target).split(path.sep).join('/');
      if (!target.startsWith(srcRoot + path.sep)) {
        if (inOvsdb)
          context.report({ node, messageId: 'ovsdbImportsProject', data: { source, target: targetRel } });
        return;
      }
      const targetFolder = folderOf(target, srcRoot);
      if (targetFolder === undefined || targetFolder === fileFolder) return;
      if (inOvsdb) {
        context.report({ node, messageId: 'ovsdbImportsProject', data: { source, target: targetRel } });
        return;
      }
      if (inPlug && !typeOnly) {
        context.report({ node, messageId: 'plugImportsIo', data: { source } });
        return;
      }
      if (isSelfOrAncestor(targetFolder, fileFolder)) return;
      if (target !== path.join(targetFolder, 'index')) {
        const folderName = path.relative(path.dirname(srcRoot), targetFolder).split(path.sep).join('/');
        context.report({ node, messageId: 'deepImport', data: { source, targetFolder: folderName } });
      }
    }

    return {
      ImportDeclaration(node) {
        const typeOnly =
          node.importKind === 'type' ||
          (node.specifiers.length > 0 &&
            node.specifiers.every((s) => s.type === 'ImportSpecifier' && s.importKind === 'type'));
        check(node, node.source.value, typeOnly);
      },
      ExportNamedDeclaration(node) {
        if (node.source) check(node, node.source.value, node.exportKind === 'type');
      },
      ExportAllDeclaration(node) {
        check(node, node.source.value, node.exportKind === 'type');
      },
      ImportExpression(node) {
        if (node.source.type === 'Literal') check(node, node.source.value, false);
      },
    };
  },
};

export default { rules: { 'folder-boundaries': folderBoundaries } };
