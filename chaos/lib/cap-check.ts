import type { Caps } from '../../src/core/frequency-cap.ts'
import { type CapPush, capVerdict, maxInWindow } from '../../testkit/cap-oracle.ts'
import type { Fixture } from '../../testkit/fixture.ts'

/** What the frequency caps' oracle found in subscribers_feedback and offerstream_suppressed. */
export interface CapCheck {
  /** Clients (or client-restaurant pairs for the restaurant cap) with more pushes in one window than the cap allows. */
  overCap: number
  /** The most pushes any client had in one window of the frequency cap. */
  most: number
  /**
   * Suppressed pairs that the final pushes do not justify (the pair would fit). Not a breach: a
   * transaction that fails leaves its instance counting its pushes until it reads the window again,
   * so pairs decided meanwhile may be kept back more than needed.
   */
  unjustified: number
}

/** Checks every client's pushes against the caps (rule: testkit/cap-oracle.ts), and each suppression against them. */
export async function checkCaps(fx: Fixture, caps: Caps): Promise<CapCheck> {
  const { rows } = await fx.pool.query<{ client: string; restaurant: string; at: number }>(
    'select client_id as client, restaurant_id as restaurant, trigger_datetime_created as at from subscribers_feedback',
  )
  const history = new Map<string, CapPush[]>()
  for (const r of rows) {
    const h = history.get(r.client) ?? []
    h.push({ at: Number(r.at), restaurantId: r.restaurant })
    history.set(r.client, h)
  }
  let overCap = 0
  let most = 0
  for (const h of history.values()) {
    if (caps.frequency) {
      const n = maxInWindow(
        h.map(p => p.at),
        caps.frequency.windowSeconds,
      )
      most = Math.max(most, n)
      if (n > caps.frequency.limit) overCap++
    }
    if (caps.restaurant) {
      const cap = caps.restaurant
      for (const x of new Set(h.map(p => p.restaurantId))) {
        const n = maxInWindow(
          h.filter(p => p.restaurantId === x).map(p => p.at),
          cap.windowSeconds,
        )
        if (n > cap.limit) overCap++
      }
    }
  }
  const suppressed = await fx.pool.query<{ client: string; restaurant: string; at: number; rule: string }>(
    'select client_id as client, restaurant_id as restaurant, trigger_datetime_created as at, rule from offerstream_suppressed',
  )
  const unjustified = suppressed.rows.filter(s => capVerdict(history.get(s.client) ?? [], Number(s.at), s.restaurant, caps) === null).length
  return { overCap, most, unjustified }
}
