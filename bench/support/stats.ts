/** Small statistics for benchmark samples. */

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Mean after dropping `share` of the samples at each end (ms-truncated stamps average out). */
export function trimmedMean(values: readonly number[], share = 0.1): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const drop = Math.floor(sorted.length * share);
  const kept = sorted.slice(drop, sorted.length - drop);
  return kept.reduce((sum, v) => sum + v, 0) / kept.length;
}

/**
 * Least-squares line through (x, y) points and how far the points stray from it: `maxDeviation`
 * is the largest |y - fit| relative to the fitted y (0 = exactly linear).
 */
export function linearFit(points: readonly (readonly [number, number])[]): {
  slope: number;
  intercept: number;
  maxDeviation: number;
} {
  const n = points.length;
  if (n < 2) throw new Error(`a line needs two points, got ${n}`);
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const slope = sxx === 0 ? 0 : sxy / sxx;
  const intercept = my - slope * mx;
  const maxDeviation = Math.max(
    ...points.map(([x, y]) => {
      const fit = slope * x + intercept;
      return fit === 0 ? Math.abs(y) : Math.abs(y - fit) / Math.abs(fit);
    }),
  );
  return { slope, intercept, maxDeviation };
}
