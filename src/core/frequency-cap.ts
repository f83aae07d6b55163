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

export const capsOn = (caps: Caps): boolean => caps.frequency !== null || caps.restaurant !== null

// N up to 1000: each decision reads the client's pushes near the pair (src/core/cap-history.ts), which grow with N.
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

/** The longest window of the caps in force, in seconds (0 when both are off): how far back a push is compared. */
export const capWindow = (caps: Caps): number => Math.max(caps.frequency?.windowSeconds ?? 0, caps.restaurant?.windowSeconds ?? 0)
