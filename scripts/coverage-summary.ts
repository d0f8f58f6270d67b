/**
 * Prints the unit pass's coverage as one line, against the floor in vitest.config.ts, and exits 1
 * when a figure is below its floor or the summary is missing (scripts/test.sh, docs/testing.md).
 *
 *   tsx scripts/coverage-summary.ts [coverage/coverage-summary.json]
 *
 * Vitest enforces the same thresholds itself (`--coverage` fails the run); this line says which
 * figure and by how much, next to the test counts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { COVERAGE_FLOOR } from '../vitest.config.js';

export const METRICS = ['statements', 'branches', 'functions', 'lines'] as const;
export type Metric = (typeof METRICS)[number];
export type CoverageFigures = Record<Metric, number>;

/** The `total` percentages of a json-summary report (istanbul format, as vitest writes it). */
export function parseCoverageSummary(json: unknown): CoverageFigures {
  const total = (json as { total?: Record<string, { pct?: unknown } | undefined> } | null)?.total;
  const figures: Partial<CoverageFigures> = {};
  for (const metric of METRICS) {
    const pct = total?.[metric]?.pct;
    if (typeof pct !== 'number') throw new Error(`coverage summary has no total.${metric}.pct`);
    figures[metric] = pct;
  }
  return figures as CoverageFigures;
}

/** `coverage (v8, src/**): statements 85.9% (floor 84) ...: ok`, or `... below the floor: FAILED`. */
export function coverageLine(
  figures: CoverageFigures,
  floor: CoverageFigures,
): { line: string; ok: boolean } {
  const below = METRICS.filter((m) => figures[m] < floor[m]);
  const parts = METRICS.map((m) => `${m} ${figures[m]}% (floor ${floor[m]})`).join(', ');
  return below.length === 0
    ? { line: `coverage (v8, src/**): ${parts}: ok`, ok: true }
    : { line: `coverage (v8, src/**): ${parts}: ${below.join(', ')} below the floor: FAILED`, ok: false };
}

function main(): void {
  const file = process.argv[2] ?? 'coverage/coverage-summary.json';
  if (!existsSync(file)) {
    console.log(`coverage (v8, src/**): no ${file} (written only when every unit test passed): FAILED`);
    process.exitCode = 1;
    return;
  }
  const { line, ok } = coverageLine(
    parseCoverageSummary(JSON.parse(readFileSync(file, 'utf8'))),
    COVERAGE_FLOOR,
  );
  console.log(line);
  if (!ok) process.exitCode = 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();
