// Small numeric helpers shared by the client and the report.

/** p-th percentile (0..100) of the first n samples, nearest-rank; sorts a copy. */
export function percentile(samples: Float64Array, n: number, p: number): number {
  if (n === 0) return NaN;
  const sorted = samples.slice(0, n).sort();
  const rank = Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1));
  return sorted[rank]!;
}

/** Several percentiles from one sort. */
export function percentiles(samples: Float64Array, n: number, ps: readonly number[]): number[] {
  if (n === 0) return ps.map(() => NaN);
  const sorted = samples.slice(0, n).sort();
  return ps.map((p) => sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]!);
}

export function median(xs: readonly number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** Human-readable number: 3 significant digits with k/M suffixes. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  const a = Math.abs(x);
  if (a >= 1e6) return (x / 1e6).toPrecision(3) + 'M';
  if (a >= 1e4) return (x / 1e3).toPrecision(3) + 'k';
  if (a >= 100) return x.toFixed(0);
  return x.toPrecision(3);
}
