/** scripts/coverage-summary.ts: the coverage line of scripts/test.sh and its verdict. */
import { describe, expect, it } from 'vitest';
import { coverageLine, parseCoverageSummary } from '../../scripts/coverage-summary.js';
import { COVERAGE_FLOOR } from '../../vitest.config.js';

const summary = (pct: Record<string, number>): unknown => ({
  total: Object.fromEntries(Object.entries(pct).map(([k, v]) => [k, { total: 10, covered: 9, pct: v }])),
});

describe('coverage summary line', () => {
  const figures = parseCoverageSummary(
    summary({ statements: 85.9, branches: 84.79, functions: 88, lines: 85.9 }),
  );
  const floor = { statements: 84, branches: 83, functions: 87, lines: 84 };

  it('reads the four totals of a json-summary report', () => {
    expect(figures).toEqual({ statements: 85.9, branches: 84.79, functions: 88, lines: 85.9 });
    expect(() => parseCoverageSummary(summary({ statements: 1, branches: 1, lines: 1 }))).toThrow(
      /total\.functions\.pct/,
    );
    expect(() => parseCoverageSummary(null)).toThrow(/total\.statements\.pct/);
  });

  it('is ok at or above every floor', () => {
    expect(coverageLine(figures, floor)).toEqual({
      ok: true,
      line: 'coverage (v8, src/**): statements 85.9% (floor 84), branches 84.79% (floor 83), functions 88% (floor 87), lines 85.9% (floor 84): ok',
    });
    expect(coverageLine(floor, floor).ok).toBe(true);
  });

  it('names every figure below its floor', () => {
    const { ok, line } = coverageLine({ ...figures, branches: 82.99, lines: 83 }, floor);
    expect(ok).toBe(false);
    expect(line).toMatch(/: branches, lines below the floor: FAILED$/);
  });

  it('the configured floor is whole percentages between 0 and 100', () => {
    for (const v of Object.values(COVERAGE_FLOOR)) {
      expect(Number.isInteger(v)).toBe(true);
      expect(v).toBeGreaterThan(0);
      expect(v).toBeLessThanOrEqual(100);
    }
  });
});
