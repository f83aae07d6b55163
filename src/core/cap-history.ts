import type { Caps } from './frequency-cap.ts'

/** Why a pair was suppressed, as offerstream_suppressed.rule stores it. */
export type CapRule = 'frequency_cap' | 'restaurant_cap'

/**
 * Whether one more push at `at` keeps every window of `win` seconds (windows are [s, s + win),
 * times in whole seconds) holding at most `limit` pushes. The windows holding `at` whose count can
 * be largest end at `at` or at a push in [at, at + win): only those are counted. Pushes do not come
 * in time order (a campaign's trigger time is stamped when its fan-out starts, and a long fan-out's
 * later chunk can commit after a newer campaign's push), so pushes on both sides of `at` count.
 * testkit/cap-oracle.ts states the same rule another way; a unit test checks the two agree.
 */
function capRoom(times: readonly number[], at: number, limit: number, win: number): boolean {
  if (times.length < limit) return true
  const ends = [at]
  for (const x of times) if (x >= at && x < at + win) ends.push(x)
  for (const end of ends) {
    let n = 0
    for (const y of times) if (y > end - win && y <= end) n++
    if (n >= limit) return false
  }
  return true
}

/**
 * Every client's committed pushes near now, as the caps see them (time and restaurant), kept in
 * memory so that deciding a pair costs a map lookup instead of an index probe and a second row per
 * push in PostgreSQL (docs/frequency-cap.md). Pure: what fills it and when is the adapter's business.
 */
export class CapHistory {
  /** Per client, flattened pairs: [at, restaurant index, at, restaurant index, ...]. */
  #clients = new Map<string, number[]>()
  /** Restaurant ids interned: a client's history stores small integers, not 36-character strings. */
  #restaurantIndex = new Map<string, number>()
  #pushes = 0

  /** Pushes held. */
  get size(): number {
    return this.#pushes
  }

  add(client: string, at: number, restaurant: string): void {
    let r = this.#restaurantIndex.get(restaurant)
    if (r === undefined) {
      r = this.#restaurantIndex.size
      this.#restaurantIndex.set(restaurant, r)
    }
    const h = this.#clients.get(client)
    if (h === undefined) this.#clients.set(client, [at, r])
    else h.push(at, r)
    this.#pushes++
  }

  /** Adds every push of `other` (a transaction's pushes, once it committed). */
  addAll(other: CapHistory): void {
    const names = [...other.#restaurantIndex.keys()]
    for (const [client, h] of other.#clients) {
      for (let i = 0; i < h.length; i += 2) this.add(client, h[i]!, names[h[i + 1]!]!)
    }
  }

  /** Drops pushes before `keepFrom` (no window still to be checked can reach them); returns how many. */
  prune(keepFrom: number): number {
    let dropped = 0
    for (const [client, h] of this.#clients) {
      const kept: number[] = []
      for (let i = 0; i < h.length; i += 2) if (h[i]! >= keepFrom) kept.push(h[i]!, h[i + 1]!)
      dropped += (h.length - kept.length) / 2
      if (kept.length === 0) this.#clients.delete(client)
      else if (kept.length !== h.length) this.#clients.set(client, kept)
    }
    this.#pushes -= dropped
    return dropped
  }

  /** Whether the client has any push held. */
  has(client: string): boolean {
    return this.#clients.has(client)
  }

  /** The client's pushes within `win` seconds of `at`, optionally only those of one restaurant. */
  near(client: string, at: number, win: number, restaurant?: string): number[] {
    const h = this.#clients.get(client)
    if (h === undefined) return []
    let r: number | undefined
    if (restaurant !== undefined) {
      r = this.#restaurantIndex.get(restaurant)
      if (r === undefined) return []
    }
    const out: number[] = []
    for (let i = 0; i < h.length; i += 2) {
      const x = h[i]!
      if (x > at - win && x < at + win && (r === undefined || h[i + 1] === r)) out.push(x)
    }
    return out
  }
}

/**
 * The rule one more push of `restaurant` at `at` would break for `client`, given the committed
 * pushes and those of the deciding transaction so far (null: it may be pushed). The frequency cap
 * is checked first.
 */
export function capVerdictOf(histories: readonly CapHistory[], client: string, at: number, restaurant: string, caps: Caps): CapRule | null {
  // Most candidates have no push nearby: no arrays to build for them.
  if (!histories.some(h => h.has(client))) return null
  const { frequency: f, restaurant: r } = caps
  if (
    f &&
    !capRoom(
      histories.flatMap(h => h.near(client, at, f.windowSeconds)),
      at,
      f.limit,
      f.windowSeconds,
    )
  ) {
    return 'frequency_cap'
  }
  if (
    r &&
    !capRoom(
      histories.flatMap(h => h.near(client, at, r.windowSeconds, restaurant)),
      at,
      r.limit,
      r.windowSeconds,
    )
  ) {
    return 'restaurant_cap'
  }
  return null
}
