// The one quantile definition of the harnesses: nearest rank (the smallest value with at least q of
// the values at or below it), so a p99 is always a value that was measured.

export interface Percentiles {
  n: number
  p50: number
  p95: number
  p99: number
  max: number
}

/** Nearest-rank q-quantile (q in [0, 1]) of unsorted values; NaN for none. */
export function quantile(values: readonly number[], q: number): number {
  return quantileOfSorted(Float64Array.from(values).sort(), q)
}

function quantileOfSorted(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}

/** n, p50, p95, p99 and max of a list of numbers (ms). */
export function percentiles(values: readonly number[]): Percentiles {
  const v = Float64Array.from(values).sort()
  const at = (q: number) => quantileOfSorted(v, q)
  return { n: v.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: v.length ? v[v.length - 1]! : Number.NaN }
}
