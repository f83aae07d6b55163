// Seeded randomness for every harness (bench, chaos, tests): two runs with the same seed generate the
// same workload and the same chaos plan, so a failing run can be replayed and two bench runs compared.

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number
  int(maxExclusive: number): number
  uuid(): string
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** mulberry32: tiny, fast, good enough for workload generation (not for anything secret). */
export function createRng(seed: number): Rng {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const byte = () => (next() * 256) | 0
  return {
    next,
    int: max => Math.floor(next() * max),
    uuid() {
      const b = Array.from({ length: 16 }, byte)
      b[6] = (b[6]! & 0x0f) | 0x40 // version 4
      b[8] = (b[8]! & 0x3f) | 0x80 // RFC 4122 variant
      const h = b.map(x => HEX[x]!)
      return `${h.slice(0, 4).join('')}-${h.slice(4, 6).join('')}-${h.slice(6, 8).join('')}-${h.slice(8, 10).join('')}-${h.slice(10).join('')}`
    },
  }
}

/** A generator seeded from the clock, for runs that print their seed rather than take one. */
export function unseededRng(): Rng {
  return createRng(Math.floor(Math.random() * 2 ** 32))
}

/**
 * Samples ranks 0..n-1 with P(k) ∝ 1/(k+1)^s: a few restaurants have most subscribers, a long tail
 * has a handful, as real follower counts do. s = 0 is uniform.
 */
export function zipfSampler(n: number, s: number, rng: Rng): () => number {
  const cdf = new Float64Array(n)
  let sum = 0
  for (let k = 0; k < n; k++) cdf[k] = sum += 1 / (k + 1) ** s
  return () => {
    const u = rng.next() * sum
    let lo = 0
    let hi = n - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (cdf[mid]! < u) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

/** Fisher-Yates in place with the given generator. */
export function shuffle<T>(a: T[], rng: Rng): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    ;[a[i], a[j]] = [a[j]!, a[i]!]
  }
  return a
}

/** One of the items, uniformly. */
export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)]!
}
