/**
 * Every "DESIGN §<number>" in the repository names a section of docs/design.md (issue 11 part 6).
 *
 * Collects the references from the repository's own text files (src, docs, test, scripts, deploy,
 * bench, examples, README.md, CHANGELOG.md; also the DESIGN column of docs/planner.md's rule
 * table) and checks each number against the numbered headings of docs/design.md. Reads files of
 * this repository only.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DESIGN_FILE = 'docs/design.md';
const SCANNED = [
  'src',
  'docs',
  'test',
  'scripts',
  'deploy',
  'bench',
  'examples',
  'README.md',
  'CHANGELOG.md',
];
const SKIPPED_DIRS = new Set(['node_modules', 'dist', '.git', 'coverage']);
const MAX_BYTES = 2_000_000;

/** A section number as cited: `3`, `3.4`, `3.5a`. */
const NUMBER = String.raw`\d+(?:\.\d+)*[a-z]?`;
/** `DESIGN §3.4`, `DESIGN.md §6`, and chains such as `DESIGN §3.2/§3.4` or `DESIGN §3.3/§5`. */
const REFERENCE = new RegExp(String.raw`DESIGN(?:\.md)? ?§ ?(${NUMBER}(?:\s*/\s*§ ?${NUMBER})*)`, 'g');
/** A numbered heading of docs/design.md: `## 4. Budgets`, `### 3.5a Identity changes`. */
const HEADING = new RegExp(String.raw`^#{1,6}\s+§?\s*(${NUMBER})\.?(?:\s|$)`);

export interface DesignReference {
  readonly file: string;
  readonly line: number;
  readonly section: string;
}

/** Section numbers that have a heading in the given design document text. */
export function designSections(designText: string): Set<string> {
  const sections = new Set<string>();
  let fenced = false;
  for (const line of designText.split('\n')) {
    if (line.trimStart().startsWith('```')) fenced = !fenced;
    if (fenced) continue;
    const m = HEADING.exec(line);
    if (m?.[1] !== undefined) sections.add(m[1]);
  }
  return sections;
}

/** "DESIGN §…" references in one file's text (and, for a rule table, its DESIGN column). */
export function referencesIn(file: string, text: string): DesignReference[] {
  const found: DesignReference[] = [];
  const lines = text.split('\n');
  lines.forEach((lineText, index) => {
    for (const m of lineText.matchAll(REFERENCE)) {
      for (const section of (m[1] ?? '').matchAll(new RegExp(NUMBER, 'g')))
        found.push({ file, line: index + 1, section: section[0] });
    }
  });
  // Markdown tables with a column headed "DESIGN" (docs/planner.md) cite bare "§3.4".
  let designColumn = -1;
  lines.forEach((lineText, index) => {
    if (!lineText.trimStart().startsWith('|')) {
      designColumn = -1;
      return;
    }
    const cells = lineText.split('|').map((cell) => cell.trim());
    const header = cells.indexOf('DESIGN');
    if (header >= 0) {
      designColumn = header;
      return;
    }
    const cell = designColumn >= 0 ? cells[designColumn] : undefined;
    if (cell === undefined) return;
    for (const m of cell.matchAll(new RegExp(String.raw`§ ?(${NUMBER})`, 'g')))
      if (m[1] !== undefined) found.push({ file, line: index + 1, section: m[1] });
  });
  return found;
}

function textFiles(path: string): string[] {
  const stat = statSync(path);
  if (stat.isFile()) return stat.size <= MAX_BYTES ? [path] : [];
  if (!stat.isDirectory()) return [];
  return readdirSync(path, { withFileTypes: true })
    .filter((entry) => !SKIPPED_DIRS.has(entry.name) && !entry.isSymbolicLink())
    .flatMap((entry) => textFiles(join(path, entry.name)));
}

/** Every reference in the scanned parts of the repository. */
export function repositoryReferences(root: string): DesignReference[] {
  return SCANNED.flatMap((part) => textFiles(join(root, part))).flatMap((path) => {
    const buffer = readFileSync(path);
    if (buffer.includes(0)) return []; // binary
    return referencesIn(relative(root, path), buffer.toString('utf8'));
  });
}

/** References whose section has no heading in the design text, as `file:line §n`. */
export function unresolved(references: readonly DesignReference[], designText: string): string[] {
  const sections = designSections(designText);
  return references
    .filter((ref) => !sections.has(ref.section))
    .map((ref) => `${ref.file}:${ref.line} §${ref.section}`);
}

describe('DESIGN § references resolve inside the repository (docs/design.md)', () => {
  const designText = readFileSync(join(ROOT, DESIGN_FILE), 'utf8');
  const references = repositoryReferences(ROOT);

  it('finds the references the code and docs make', () => {
    // The repository cited DESIGN about 185 times when this test was written; far fewer means the
    // scan broke, not that the references went away.
    expect(references.length).toBeGreaterThan(100);
    const cited = new Set(references.map((ref) => ref.section));
    for (const section of ['3.3', '3.4', '3.5', '3.5a', '4', '5', '6']) expect(cited).toContain(section);
  });

  it('has a heading in docs/design.md for every section number cited', () => {
    expect(unresolved(references, designText)).toEqual([]);
  });

  it('states at the top that "DESIGN §" means a section of this file', () => {
    const top = designText.split('\n').slice(0, 15).join('\n');
    expect(top).toMatch(/DESIGN §/);
    expect(top).toMatch(/section of this file/);
  });

  it('fails for a reference whose heading is missing', () => {
    const withoutRemovalGuard = designText
      .split('\n')
      .filter((line) => !/^#{1,6}\s+3\.4\s/.test(line))
      .join('\n');
    const missing = unresolved(references, withoutRemovalGuard);
    expect(missing.length).toBeGreaterThan(0);
    expect(missing.every((entry) => entry.endsWith(' §3.4'))).toBe(true);
    expect(unresolved([{ file: 'x.ts', line: 1, section: '3.9' }], designText)).toEqual(['x.ts:1 §3.9']);
  });

  it('reads references in the forms the repository uses', () => {
    const refs = referencesIn(
      'example.md',
      'DESIGN §3.2/§3.4 and DESIGN §3.3/§5: and DESIGN §3.5a, (DESIGN §4).\n' +
        '| # | Rule | DESIGN | upstream |\n|---|---|---|---|\n| 1 | x | §3.1, §3.2 | §1.1 |\n',
    );
    expect(refs.map((ref) => ref.section)).toEqual(['3.2', '3.4', '3.3', '5', '3.5a', '4', '3.1', '3.2']);
    expect(designSections('## 4. Budgets\n### 3.5a Identity\n```\n## 9 fenced\n```\n').has('9')).toBe(false);
  });
});
