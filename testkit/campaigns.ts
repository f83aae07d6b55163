import type { Audience } from './audience.ts'
import type { Rng } from './rng.ts'

// restaurant_actions values: one campaign's fields, and the bench's stream of campaigns mixed with
// re-sends, expired and malformed records.

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

/** A campaign value with the given window (seconds) and the seed example's owner. */
export function campaignJson(
  restaurantId: string,
  campaignId: string,
  content: string,
  start: number,
  end: number,
  created: number,
): string {
  const f: CampaignFields = {
    restaurant_id: restaurantId,
    adv_campaign_id: campaignId,
    adv_campaign_content: content,
    adv_campaign_owner: 'Ivanov Ivan Ivanovich',
    adv_campaign_owner_contact: 'iiivanov@restaurant.ru',
    adv_campaign_datetime_start: start,
    adv_campaign_datetime_end: end,
    datetime_created: created,
  }
  return JSON.stringify(f)
}

/** A campaign of realistic size for `restaurantId`, active now (or `expired`), its id and text from the generator. */
export function randomCampaign(restaurantId: string, rng: Rng, nowSeconds: number, expired: boolean): CampaignFields {
  const n = rng.int(1_000_000)
  return {
    restaurant_id: restaurantId,
    adv_campaign_id: rng.uuid(),
    adv_campaign_content: `Campaign ${n}: two pizzas for the price of one, every weekday until 5 pm`,
    adv_campaign_owner: `Owner ${n % 997}`,
    adv_campaign_owner_contact: `owner${n % 997}@restaurant.example`,
    adv_campaign_datetime_start: nowSeconds - (expired ? 7200 : 60),
    adv_campaign_datetime_end: nowSeconds + (expired ? -3600 : 86400),
    datetime_created: nowSeconds - 120,
  }
}

type EventKind = 'valid' | 'duplicate' | 'expired' | 'malformed'

export interface CampaignEvent {
  kind: EventKind
  value: string
  /** Set for valid, duplicate and expired events. */
  campaignId?: string
  restaurant?: number
  /** Pushes this event must cause: the restaurant's distinct clients for a new valid campaign, else 0. */
  expected: number
}

/** Shares of the stream that are exact re-sends, expired campaigns and malformed records. */
export interface Mix {
  duplicates: number
  expired: number
  malformed: number
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

/** A new valid (or expired) campaign for `restaurant` of the audience, as a stream event. */
function campaignEvent(a: Audience, restaurant: number, rng: Rng, nowSeconds: number, expired = false): CampaignEvent {
  const f = randomCampaign(a.restaurantIds[restaurant]!, rng, nowSeconds, expired)
  return {
    kind: expired ? 'expired' : 'valid',
    value: JSON.stringify(f),
    campaignId: f.adv_campaign_id,
    restaurant,
    expected: expired ? 0 : a.clientsOf[restaurant]!.length,
  }
}

/**
 * Campaign events in produce order: new campaigns for uniformly chosen restaurants, mixed with the
 * given shares of exact re-sends of an earlier campaign, expired campaigns and malformed records.
 * Stops after `count` events, or once the new campaigns add up to `targetPushes` pushes.
 */
export function campaignStream(
  a: Audience,
  rng: Rng,
  mix: Mix,
  stop: { count?: number; targetPushes?: number },
  nowSeconds: number,
): CampaignEvent[] {
  const out: CampaignEvent[] = []
  const valid: CampaignEvent[] = []
  let pushes = 0
  const nonEmpty = a.clientsOf.map((c, i) => (c.length > 0 ? i : -1)).filter(i => i >= 0)
  while ((stop.count === undefined || out.length < stop.count) && (stop.targetPushes === undefined || pushes < stop.targetPushes)) {
    const u = rng.next()
    if (u < mix.malformed) {
      out.push({ kind: 'malformed', value: MALFORMED[rng.int(MALFORMED.length)]!(), expected: 0 })
    } else if (u < mix.malformed + mix.duplicates && valid.length > 0) {
      const orig = valid[rng.int(valid.length)]!
      out.push({ ...orig, kind: 'duplicate', expected: 0 })
    } else {
      const restaurant = nonEmpty[rng.int(nonEmpty.length)]!
      const e = campaignEvent(a, restaurant, rng, nowSeconds, u < mix.malformed + mix.duplicates + mix.expired)
      out.push(e)
      if (e.kind === 'valid') {
        valid.push(e)
        pushes += e.expected
      }
    }
  }
  return out
}

export function expectedPushes(events: CampaignEvent[]): number {
  return events.reduce((s, e) => s + e.expected, 0)
}

export function countKinds(events: CampaignEvent[]): Record<string, number> {
  const k: Record<string, number> = {}
  for (const e of events) k[e.kind] = (k[e.kind] ?? 0) + 1
  return k
}
