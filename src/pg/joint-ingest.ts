import type pg from 'pg'
import { encodeShardWork, shardWork } from '../core/shard-work.ts'
import { beginShardsTransaction, type HeldShard } from './shard-lock.ts'
import { type EventRow, type StoredRecords, storeCampaignRecords } from './sql/insert-events.ts'
import { SHARD_CHANNEL } from './sql/notify-shards.ts'
import { withTransaction } from './transaction.ts'
import { PgWriterTx } from './writer-store.ts'

/**
 * How the ingest stage fans out a batch's new campaigns in its own transaction (storeJointly). At
 * hundreds of small campaigns a second, a batch spans most shards, and each shard's writer used to
 * commit its own transaction after the ingest's: 1 + up to 12 commits per batch, where this makes one.
 */
export interface JointFanOut<R> {
  /** The shards among these that run here, with their epochs (and whether to wait for their locks); undefined when none does. */
  take(shards: number[]): HeldShard[] | undefined
  /** How long to wait for the locks of the shards marked `wait` before the transaction fails. */
  lockWaitMs: number
  /**
   * Inside the transaction, after the batch is stored: fans out in the shards locked, through `tx`,
   * whose round holds only the batch's new campaigns of those shards still fanning. Returns what to
   * tell each shard after the commit (done); a shard left out of it is woken as after a plain store.
   */
  fanOut(tx: PgWriterTx, locked: readonly number[]): Promise<Map<number, R>>
  /** After the commit, for each shard fanOut returned. */
  done(shard: number, result: R): void
}

/**
 * Stores a batch of campaigns (no cancels or rejects, one restaurant round) in a transaction that
 * also holds the locks of the batch's shards that run here: waited for (up to lockWaitMs)
 * where no big fan-out is under way, taken only if free now where one is, each with its epoch
 * check; and fans out those shards' new campaigns in it. Waiting matters at high rates: with
 * try-locks only, busy writers kept most shards' locks, their campaigns went to those writers,
 * which stayed busy, each campaign costing a writer transaction (docs/scaling.md, Eleventh round).
 * A lock not had in time fails the transaction, as any failure does. Notifications go only to the
 * shards not locked. Undefined when none of them runs here: nothing ran. Rejects when the
 * transaction failed; the caller then stores the batch plainly, which skips what a lost COMMIT did store.
 */
export async function storeJointly<R>(
  pool: pg.Pool,
  sender: string,
  events: EventRow[],
  joint: JointFanOut<R>,
): Promise<{ stored: StoredRecords; fanned: number[] } | undefined> {
  const fanning = [...new Set(events.filter(e => e.status === 'fanning').map(e => e.shard))]
  const held = fanning.length > 1 ? joint.take(fanning) : undefined
  if (!held) return undefined
  let locked: number[] = []
  const out = await withTransaction(
    pool,
    async client => {
      const mine = new Set(locked)
      const payloads = [...shardWork(events, [])].filter(([s]) => !mine.has(s)).map(([s, w]) => encodeShardWork(s, sender, w))
      const stored = await storeCampaignRecords(client, events, [], payloads.length > 0 ? { channel: SHARD_CHANNEL, payloads } : undefined)
      const ids = stored.rows.filter(r => r.status === 'fanning').map(r => r.id)
      // One view for all the shards locked: its round and chunks take each campaign's shard from its
      // event, so the shard it is opened with only names it (its other statements are not used here).
      const view = () => new PgWriterTx(client, locked[0]!, undefined, undefined, { ids, shards: locked })
      const results = ids.length > 0 && locked.length > 0 ? await joint.fanOut(view(), locked) : new Map<number, R>()
      return { stored, results }
    },
    async client => {
      locked = await beginShardsTransaction(client, held, joint.lockWaitMs)
    },
  )
  for (const [s, r] of out.results) joint.done(s, r)
  // Only the shards told (done) count as fanned out: any other shard, locked or not, is woken as after a plain store.
  return { stored: out.stored, fanned: [...out.results.keys()] }
}
