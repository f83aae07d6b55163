// The frequency caps' rule as the tests' oracle: the service's rule (capVerdictOf in
// src/core/cap-history.ts) is checked against it in a unit test, and the chaos runs check both sinks
// with it. It states the rule another way (runs of pushes instead of window counts).
import type { Cap, Caps } from '../src/core/frequency-cap.ts'

/** Why a pair was suppressed, as offerstream_suppressed.rule stores it. */
type CapRule = 'frequency_cap' | 'restaurant_cap'

/**
 * Whether one more push at `at` keeps every rolling window of the cap at or under its limit, given
 * the client's pushes `times` (unix seconds, any order). Two pushes share a window when they are less
 * than windowSeconds apart (windows are [s, s + D)). A push's time is its campaign's trigger time,
 * stamped when the fan-out starts, so pushes do not arrive in time order: a chunk of a long fan-out
 * can commit after a later campaign's push, with an earlier time. So the check looks on both sides:
 * with `at` among the sorted times, every limit + 1 consecutive pushes that include it must span at
 * least windowSeconds. The service's capRoom() (src/core/cap-history.ts) counts windows instead.
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
