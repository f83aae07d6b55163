import { murmur2 } from '@platformatic/kafka'
import { badValue, type Rng } from './hostile.ts'
import { buildWorkload, shuffle } from './workload.ts'

export interface KeyedRecord {
  key: string
  value: Buffer | null
  /** Expected pairs this record adds as soon as it is ingested (0: re-send, inactive, early, bad). */
  pairsNow: number
}

export interface ScaleWorkload {
  subscribers: Array<[clientId: string, restaurantId: string]>
  /** Input records in production order, keyed by restaurant like a real producer would. */
  records: KeyedRecord[]
  expected: Set<string>
  /** Values that must each reach the DLQ once. */
  bad: Array<Buffer | null>
  counts: { campaigns: number; early: number; resentOtherPartition: number; bad: number }
}

interface ScaleWorkloadOptions {
  pushes: number
  partitions: number
  random: Rng
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
 * The chaos workload of the `scale` scenario: buildWorkload's campaigns (active, inactive, early,
 * verbatim re-sends) keyed by restaurant so they spread over the input partitions, some campaigns
 * re-sent under a key of a different partition (so another consumer may ingest the copy at the same
 * time), and hostile values for the DLQ. Expected pairs come from the input alone.
 */
export function buildScaleWorkload(o: ScaleWorkloadOptions): ScaleWorkload {
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
    random: o.random,
  })
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
  const resends = Math.min(o.resendOtherPartition ?? 4, active.length)
  for (let i = 0; i < resends; i++) {
    const c = active[Math.floor(o.random() * active.length)]!
    const home = partitionOf(c.restaurant, o.partitions)
    let key = `${c.restaurant}/resent`
    for (let n = 1; o.partitions > 1 && partitionOf(key, o.partitions) === home; n++) key = `${c.restaurant}/resent-${n}`
    records.push({ key, value: Buffer.from(c.value), pairsNow: 0 })
  }
  const bad = Array.from({ length: o.bad ?? 50 }, () => badValue(o.random, now)[1])
  for (const [i, value] of bad.entries()) records.push({ key: `bad-${i}`, value, pairsNow: 0 })
  shuffle(records, o.random)
  return {
    subscribers: w.subscribers,
    records,
    expected: w.expected,
    bad,
    counts: { campaigns: seen.size, early, resentOtherPartition: resends, bad: bad.length },
  }
}
