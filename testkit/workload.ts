import { murmur2 } from '@platformatic/kafka'
import { exactAudience, subscriptionPairs } from './audience.ts'
import { campaignJson } from './campaigns.ts'
import { badValue } from './hostile.ts'
import { type Rng, shuffle, unseededRng } from './rng.ts'

// A campaign workload and the (campaign, client) pairs it must produce, computed here from the
// inputs alone (not from anything the service wrote), so the verification is independent.

export interface Workload {
  subscribers: Array<[clientId: string, restaurantId: string]>
  /** Input values in production order. */
  values: string[]
  /** `${campaignId}/${clientId}` for every pair that must be pushed exactly once. */
  expected: Set<string>
}

export interface WorkloadOptions {
  /** Pairs wanted, roughly: campaigns are sized to reach it. */
  pushes: number
  subscribersPerRestaurant?: number
  restaurants?: number
  nowSeconds?: number
  /** Extra campaigns that must push nothing (ended, ending inside the margin, window too short). */
  inactive?: number
  /** Re-send this many campaigns verbatim: duplicates must not double anything. */
  resends?: number
  /** Campaigns that arrive before their start (pending) and start `earlyBySeconds` after `nowSeconds`: pushed once due. */
  early?: number
  earlyBySeconds?: number
  marginSeconds?: number
  /** Ids and order come from this generator (default: a random seed). */
  rng?: Rng
}

/** The activity rule restated for the oracle: start <= now <= end - margin. */
function mustPush(start: number, end: number, now: number, margin: number): boolean {
  return start <= now && now <= end - margin && start <= end - margin
}

/** Equal audiences of `subscribersPerRestaurant` (no overlap), campaigns round-robin over them, then inactive, early and re-sent ones, shuffled. */
export function buildWorkload(o: WorkloadOptions): Workload {
  const rng = o.rng ?? unseededRng()
  const per = o.subscribersPerRestaurant ?? 2000
  const now = o.nowSeconds ?? Math.floor(Date.now() / 1000)
  const margin = o.marginSeconds ?? 600
  const campaigns = Math.max(1, Math.ceil(o.pushes / per))
  const restaurantCount = o.restaurants ?? Math.max(1, Math.min(campaigns, 10))
  const audience = exactAudience(Array<number>(restaurantCount).fill(per), rng)
  const restaurants = audience.restaurantIds
  const values: string[] = []
  const expected = new Set<string>()
  // `due`: when the service applies the rule; later than now for a campaign that is pending on arrival.
  const add = (r: number, start: number, end: number, content: string, due = now) => {
    const id = rng.uuid()
    values.push(campaignJson(restaurants[r]!, id, content, start, end, now - 30))
    if (mustPush(start, end, due, margin)) for (const c of audience.clientsOf[r]!) expected.add(`${id}/${c}`)
  }
  for (let i = 0; i < campaigns; i++) add(i % restaurantCount, now - 60, now + 7200, `campaign ${i}`)
  // Inactive ones: ended, ends inside the margin, starts in two days (pending the whole run).
  const inactive: Array<[number, number]> = [
    [now - 7200, now - 60],
    [now - 60, now + margin - 30],
    [now + 172800, now + 180000],
  ]
  for (let i = 0; i < (o.inactive ?? 3); i++) add(i % restaurantCount, ...inactive[i % 3]!, `inactive ${i}`)
  for (let i = 0; i < (o.early ?? 0); i++) {
    const start = now + (o.earlyBySeconds ?? 30)
    add(i % restaurantCount, start, now + 7200, `early ${i}`, start)
  }
  for (let i = 0; i < (o.resends ?? 2) && i < campaigns; i++) values.push(values[(i * 3) % campaigns]!)
  shuffle(values, rng)
  return { subscribers: subscriptionPairs(audience), values, expected }
}

export interface KeyedRecord {
  key: string
  value: Buffer | null
  /** Expected pairs this record adds as soon as it is ingested (0: re-send, inactive, early, bad). */
  pairsNow: number
}

export interface KeyedWorkload {
  subscribers: Array<[clientId: string, restaurantId: string]>
  /** Input records in production order, keyed by restaurant like a real producer would. */
  records: KeyedRecord[]
  expected: Set<string>
  /** Values that must each reach the DLQ once. */
  bad: Array<Buffer | null>
  counts: { campaigns: number; early: number; resentOtherPartition: number; bad: number }
}

export interface KeyedWorkloadOptions {
  pushes: number
  partitions: number
  rng: Rng
  subscribersPerRestaurant?: number
  /** Pending on arrival, due `earlyBySeconds` later: fanned out while ownership moves around. */
  early?: number
  earlyBySeconds?: number
  /** Active campaigns produced a second time under a key of another input partition. */
  resendOtherPartition?: number
  bad?: number
}

/** The input partition the client's default partitioner picks for a key (murmur2, as Java's). */
function partitionOf(key: string, partitions: number): number {
  return (murmur2(Buffer.from(key)) >>> 0) % partitions
}

/**
 * buildWorkload's campaigns keyed by restaurant so they spread over the input partitions, some
 * campaigns re-sent under a key of a different partition (so another consumer may ingest the copy at
 * the same time), and hostile values for the DLQ. Expected pairs come from the input alone.
 */
export function buildKeyedWorkload(o: KeyedWorkloadOptions): KeyedWorkload {
  const per = o.subscribersPerRestaurant ?? 2000
  const early = o.early ?? 4
  const now = Math.floor(Date.now() / 1000)
  const w = buildWorkload({
    nowSeconds: now,
    pushes: o.pushes,
    subscribersPerRestaurant: per,
    restaurants: Math.max(1, Math.min(Math.ceil(o.pushes / per), 24)),
    early,
    earlyBySeconds: o.earlyBySeconds ?? 30,
    rng: o.rng,
  })
  const { records, active, campaigns } = keyByRestaurant(w, now)
  const resends = Math.min(o.resendOtherPartition ?? 4, active.length)
  for (let i = 0; i < resends; i++) {
    const c = active[o.rng.int(active.length)]!
    const home = partitionOf(c.restaurant, o.partitions)
    let key = `${c.restaurant}/resent`
    for (let n = 1; o.partitions > 1 && partitionOf(key, o.partitions) === home; n++) key = `${c.restaurant}/resent-${n}`
    records.push({ key, value: Buffer.from(c.value), pairsNow: 0 })
  }
  const bad = Array.from({ length: o.bad ?? 50 }, () => badValue(o.rng, now)[1])
  for (const [i, value] of bad.entries()) records.push({ key: `bad-${i}`, value, pairsNow: 0 })
  shuffle(records, o.rng)
  return {
    subscribers: w.subscribers,
    records,
    expected: w.expected,
    bad,
    counts: { campaigns, early, resentOtherPartition: resends, bad: bad.length },
  }
}

/** Each value keyed by its restaurant, with the pairs its first copy owes at once; the active campaigns for re-keyed copies. */
function keyByRestaurant(w: Workload, now: number) {
  const pairsOf = new Map<string, number>()
  for (const k of w.expected) {
    const id = k.slice(0, k.indexOf('/'))
    pairsOf.set(id, (pairsOf.get(id) ?? 0) + 1)
  }
  const seen = new Set<string>()
  const records: KeyedRecord[] = []
  const active: Array<{ id: string; restaurant: string; value: string }> = []
  for (const value of w.values) {
    const c = JSON.parse(value) as { restaurant_id: string; adv_campaign_id: string; adv_campaign_datetime_start: number }
    const first = !seen.has(c.adv_campaign_id)
    seen.add(c.adv_campaign_id)
    const pairsNow = first && c.adv_campaign_datetime_start <= now ? (pairsOf.get(c.adv_campaign_id) ?? 0) : 0
    if (first && pairsNow > 0) active.push({ id: c.adv_campaign_id, restaurant: c.restaurant_id, value })
    records.push({ key: c.restaurant_id, value: Buffer.from(value), pairsNow })
  }
  return { records, active, campaigns: seen.size }
}
