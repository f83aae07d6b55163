import { restaurantRounds } from './campaign-rounds.ts'
import type { RuledState } from './campaign-state.ts'

/** What one ingest transaction stored for a shard: what its writer and relay need to look at. */
export interface ShardWork {
  /** A campaign to fan out now. */
  fanning: boolean
  /** The earliest start of a campaign stored to wait for it, if any. */
  pendingStart: number | null
  /** Rejects for the shard's relay to copy to the DLQ. */
  rejects: boolean
}

/** Per shard: whether it got a campaign to fan out now, its earliest pending start, and rejects. */
export function shardWork(
  events: ReadonlyArray<{ shard: number; status: RuledState; campaign: { start: number } }>,
  rejects: ReadonlyArray<{ shard: number }>,
): Map<number, ShardWork> {
  const out = new Map<number, ShardWork>()
  const of = (shard: number) => {
    const s = out.get(shard) ?? { fanning: false, pendingStart: null, rejects: false }
    out.set(shard, s)
    return s
  }
  for (const e of events) {
    const s = of(e.shard)
    if (e.status === 'fanning') s.fanning = true
    if (e.status === 'pending' && (s.pendingStart === null || e.campaign.start < s.pendingStart)) s.pendingStart = e.campaign.start
  }
  for (const r of rejects) of(r.shard).rejects = true
  return out
}

/**
 * The shard whose writer may store this batch in its own fan-out transaction (Writer.offer): only
 * campaigns, all to fan out now, all of one shard, no campaign id naming two restaurants (the store
 * cuts such a batch into rounds). Undefined for any other batch, and when it has rejects or cancels.
 */
export function oneShardToFanOut(
  events: ReadonlyArray<{ shard: number; status: RuledState; campaign: { campaignId: string; restaurantId: string } }>,
  rejectsAndCancels: number,
): number | undefined {
  const shard = events[0]?.shard
  if (shard === undefined || rejectsAndCancels > 0) return undefined
  if (!events.every(e => e.shard === shard && e.status === 'fanning')) return undefined
  return restaurantRounds(events, e => e.campaign).length === 1 ? shard : undefined
}

// A shard-work notification's payload: "shard" alone (a sender that gives no detail, or a release
// before this one) or "shard/sender/flags/pendingStart", flags being f (fanning) and r (rejects).
// The sender lets an instance skip its own notifications (it woke its shards in-process already),
// and the detail spares the receiving writer a look for due campaigns on every notification.

/** The sender as it appears in a payload ("/" separates the fields). */
export const senderTag = (sender: string) => sender.replaceAll('/', '_')

export function encodeShardWork(shard: number, sender: string, work: ShardWork): string {
  return `${shard}/${senderTag(sender)}/${work.fanning ? 'f' : ''}${work.rejects ? 'r' : ''}/${work.pendingStart ?? ''}`
}

/** The shard, its sender and its detail; undefined for a payload that names no shard. Without detail, anything may be new. */
export function decodeShardWork(payload: string): { shard: number; sender?: string; work?: ShardWork } | undefined {
  const parts = payload.split('/')
  const shard = Number(parts[0])
  if (parts[0] === '' || !Number.isInteger(shard) || shard < 0) return undefined
  if (parts.length !== 4) return { shard }
  const [, sender, flags, start] = parts as [string, string, string, string]
  const pendingStart = start === '' ? null : Number(start)
  if (pendingStart !== null && !Number.isInteger(pendingStart)) return { shard }
  return { shard, sender, work: { fanning: flags.includes('f'), rejects: flags.includes('r'), pendingStart } }
}
