import type { Rng } from './rng.ts'
import type { Subscribers } from './workload.ts'

type EventKind = 'valid' | 'duplicate' | 'expired' | 'malformed'

export interface BenchEvent {
  kind: EventKind
  value: string
  /** Set for valid, duplicate and expired events. */
  campaignId?: string
  restaurant?: number
  /** Pushes this event must cause: the restaurant's distinct clients for a new valid campaign, else 0. */
  expected: number
}

export interface Mix {
  duplicates: number
  expired: number
  malformed: number
}

export interface CampaignFields {
  restaurant_id: string
  adv_campaign_id: string
  adv_campaign_content: string
  adv_campaign_owner: string
  adv_campaign_owner_contact: string
  adv_campaign_datetime_start: number
  adv_campaign_datetime_end: number
  datetime_created: number
}

const MALFORMED = [
  () => 'not json at all',
  () => '{"restaurant_id": "123e4567-e89b-12d3-a456-426614174000"',
  () =>
    JSON.stringify({
      restaurant_id: 'nope',
      adv_campaign_id: 'x',
      adv_campaign_content: 'c',
      adv_campaign_datetime_start: 1,
      adv_campaign_datetime_end: 2,
    }),
  () => JSON.stringify({ hello: 'world' }),
]

export function campaignFields(subs: Subscribers, restaurant: number, rng: Rng, nowSeconds: number, expired: boolean): CampaignFields {
  const n = rng.int(1_000_000)
  return {
    restaurant_id: subs.restaurantIds[restaurant]!,
    adv_campaign_id: rng.uuid(),
    adv_campaign_content: `Campaign ${n}: two pizzas for the price of one, every weekday until 5 pm`,
    adv_campaign_owner: `Owner ${n % 997}`,
    adv_campaign_owner_contact: `owner${n % 997}@restaurant.example`,
    adv_campaign_datetime_start: nowSeconds - (expired ? 7200 : 60),
    adv_campaign_datetime_end: nowSeconds + (expired ? -3600 : 86400),
    datetime_created: nowSeconds - 120,
  }
}

/**
 * Campaign events in produce order: new campaigns for uniformly chosen restaurants, mixed with the
 * given shares of exact re-sends of an earlier campaign, expired campaigns and malformed records.
 * Stops after `count` events, or once the new campaigns add up to `targetPushes` pushes.
 */
export function generateEvents(
  subs: Subscribers,
  rng: Rng,
  mix: Mix,
  stop: { count?: number; targetPushes?: number },
  nowSeconds: number,
): BenchEvent[] {
  const out: BenchEvent[] = []
  const valid: BenchEvent[] = []
  let pushes = 0
  const nonEmpty = subs.clientsOf.map((c, i) => (c.length > 0 ? i : -1)).filter(i => i >= 0)
  while ((stop.count === undefined || out.length < stop.count) && (stop.targetPushes === undefined || pushes < stop.targetPushes)) {
    const u = rng.next()
    if (u < mix.malformed) {
      out.push({ kind: 'malformed', value: MALFORMED[rng.int(MALFORMED.length)]!(), expected: 0 })
    } else if (u < mix.malformed + mix.duplicates && valid.length > 0) {
      const orig = valid[rng.int(valid.length)]!
      out.push({ ...orig, kind: 'duplicate', expected: 0 })
    } else {
      const restaurant = nonEmpty[rng.int(nonEmpty.length)]!
      const expired = u < mix.malformed + mix.duplicates + mix.expired
      const f = campaignFields(subs, restaurant, rng, nowSeconds, expired)
      const e: BenchEvent = {
        kind: expired ? 'expired' : 'valid',
        value: JSON.stringify(f),
        campaignId: f.adv_campaign_id,
        restaurant,
        expected: expired ? 0 : subs.clientsOf[restaurant]!.length,
      }
      out.push(e)
      if (!expired) {
        valid.push(e)
        pushes += e.expected
      }
    }
  }
  return out
}

export function expectedPushes(events: BenchEvent[]): number {
  return events.reduce((s, e) => s + e.expected, 0)
}
