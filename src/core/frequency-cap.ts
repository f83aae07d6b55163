import { parseDuration } from './duration.ts'

/** At most `limit` pushes in any rolling window of `windowSeconds`. */
export interface Cap {
  limit: number
  windowSeconds: number
}

/** The caps in force; null: that cap is off. */
export interface Caps {
  /** Per client, across all restaurants (OFFERSTREAM_FREQUENCY_CAP). */
  frequency: Cap | null
  /** Per client per restaurant (OFFERSTREAM_RESTAURANT_CAP). */
  restaurant: Cap | null
}

/** Why a pair was suppressed; stored in offerstream_suppressed.rule. */
export type CapRule = 'frequency_cap' | 'restaurant_cap'

export const NO_CAPS: Caps = { frequency: null, restaurant: null }

export const capsOn = (caps: Caps): boolean => caps.frequency !== null || caps.restaurant !== null

// N up to 1000: the per-client history the check reads grows with N (see src/pg/migrations/000006_frequency_cap.sql).
const MAX_LIMIT = 1000

/** "3/24h" to a cap; "" or "off" to null (no cap). The error says what is wrong, for a message naming the setting. */
export function parseCap(text: string): { cap: Cap | null } | { error: string } {
  const t = text.trim()
  if (t === '' || t.toLowerCase() === 'off') return { cap: null }
  const m = /^(\d{1,4})\/(.+)$/.exec(t)
  if (!m) return { error: `expected N/DURATION such as 3/24h (or off), got ${JSON.stringify(text)}` }
  const limit = Number(m[1])
  if (limit < 1 || limit > MAX_LIMIT) return { error: `N must be 1 to ${MAX_LIMIT}, got ${limit}` }
  const windowSeconds = parseDuration(m[2]!)
  if (windowSeconds === null || windowSeconds < 1) {
    return { error: `DURATION must be a positive number with s, m, h, d or w (90m, 24h, 7d), got ${JSON.stringify(m[2])}` }
  }
  return { cap: { limit, windowSeconds } }
}

/**
 * Whether one more push at `at` keeps every rolling window of the cap at or under its limit, given
 * the client's pushes `times` (unix seconds, any order). Two pushes share a window when they are less
 * than windowSeconds apart (windows are [s, s + D)). A push's time is its campaign's trigger time,
 * stamped when the fan-out starts, so pushes do not arrive in time order: a chunk of a long fan-out
 * can commit after a later campaign's push, with an earlier time. So the check looks on both sides:
 * with `at` among the sorted times, every limit + 1 consecutive pushes that include it must span at
 * least windowSeconds. Mirrors offerstream_cap_room() in the migration, which is what the writer runs.
 */
export function capAdmits(times: readonly number[], at: number, cap: Cap): boolean {
  const near = times.filter(x => x > at - cap.windowSeconds && x < at + cap.windowSeconds)
  if (near.length < cap.limit) return true
  near.push(at)
  near.sort((a, b) => a - b)
  const p = near.indexOf(at)
  for (let i = Math.max(0, p - cap.limit); i <= p && i + cap.limit < near.length; i++) {
    if (near[i + cap.limit]! - near[i]! < cap.windowSeconds) return false
  }
  return true
}

/** One committed push of a client, as the cap sees it. */
export interface CapPush {
  at: number
  restaurantId: string
}

/** The rule a push would break (the frequency cap is checked first), or null: it may be pushed. */
export function capVerdict(history: readonly CapPush[], at: number, restaurantId: string, caps: Caps): CapRule | null {
  if (
    caps.frequency &&
    !capAdmits(
      history.map(h => h.at),
      at,
      caps.frequency,
    )
  )
    return 'frequency_cap'
  if (
    caps.restaurant &&
    !capAdmits(
      history.filter(h => h.restaurantId === restaurantId).map(h => h.at),
      at,
      caps.restaurant,
    )
  )
    return 'restaurant_cap'
  return null
}

/** The most pushes in any one window of windowSeconds: what a cap of that window must keep at or under its limit. */
export function maxInWindow(times: readonly number[], windowSeconds: number): number {
  const sorted = [...times].sort((a, b) => a - b)
  let most = 0
  for (let i = 0, j = 0; j < sorted.length; j++) {
    while (sorted[j]! - sorted[i]! >= windowSeconds) i++
    most = Math.max(most, j - i + 1)
  }
  return most
}

/** The longest window of the caps in force, in seconds (0 when both are off): how far back a push is compared. */
export const capWindow = (caps: Caps): number => Math.max(caps.frequency?.windowSeconds ?? 0, caps.restaurant?.windowSeconds ?? 0)
