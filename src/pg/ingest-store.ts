import type pg from 'pg'
import { restaurantRounds } from '../core/campaign-rounds.ts'
import { RejectCodes } from '../core/reject-reason.ts'
import { rejectShard } from '../core/shard.ts'
import { encodeShardWork, oneShardToFanOut, type ShardWork, shardWork } from '../core/shard-work.ts'
import { type JointFanOut, storeJointly } from './joint-ingest.ts'
import { translatePgError } from './pg-errors.ts'
import { type CancelRow, type EventRow, type StoredRecords, storeCampaignRecords } from './sql/insert-events.ts'
import type { RejectRow } from './sql/insert-rejects.ts'
import { notifyShards, SHARD_CHANNEL } from './sql/notify-shards.ts'
import { recordCancelPositions } from './sql/record-cancel-positions.ts'
import { storeRejects } from './store-rejects.ts'
import { withTransaction } from './transaction.ts'

type InputRow = EventRow | CancelRow

/**
 * Stores a batch of one shard's campaigns inside that shard's next fan-out transaction, if the shard
 * runs here and its writer is idle with a turn free; undefined otherwise (nothing was started). The
 * promise rejects when that transaction failed: nothing of it was committed, or (COMMIT itself lost)
 * perhaps all of it, so the caller stores the batch again, which skips records already stored.
 */
export type InShard = (shard: number, events: EventRow[]) => Promise<StoredRecords> | undefined

const named = (r: InputRow) => ('cancel' in r ? r.cancel : r.campaign)

/** A record naming another restaurant than its campaign's, as a reject for the DLQ. */
function mismatchReject(r: InputRow, shards: number): RejectRow {
  const { campaignId, restaurantId } = named(r)
  return {
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    key: r.key ?? null,
    value: r.value ?? null,
    rejection: {
      code: RejectCodes.RESTAURANT_MISMATCH,
      reason: `campaign ${campaignId} belongs to another restaurant than restaurant_id ${restaurantId}; ${'cancel' in r ? 'cancel' : 'version'} not applied`,
    },
    shard: rejectShard(r.partition, shards),
  }
}

/**
 * The ingest stage's transaction. Events need no shard lock: nothing reads them in id order, and
 * a redelivered record is skipped by its input position whichever instance stores it first.
 */
export class PgIngestStore {
  #pool: pg.Pool
  #sender: string
  #shards: number

  /** sender: this instance's id, carried by the shard notifications so that it can skip its own. */
  constructor(pool: pg.Pool, sender: string, shards: number) {
    this.#pool = pool
    this.#sender = sender
    this.#shards = shards
  }

  async store<R>(events: EventRow[], rejects: RejectRow[], cancels: CancelRow[] = [], inShard?: InShard, joint?: JointFanOut<R>) {
    const rounds = restaurantRounds<InputRow>([...events, ...cancels], named)
    // A batch of one shard's campaigns, all to fan out now, in a shard this instance owns: stored by
    // that shard's writer in the transaction that fans them out (Writer.offer). If that fails, the
    // plain path stores the batch (a record the failed commit did store is skipped by its position).
    const shard = oneShardToFanOut(events, rejects.length + cancels.length)
    const running = shard === undefined ? undefined : inShard?.(shard, events)
    const viaShard = running ? await running.catch(() => undefined) : undefined
    // A batch of campaigns of several shards: stored in a transaction that fans out those of the
    // shards running here (joint-ingest.ts); the plain path too if that fails. Its rejects commit
    // first, apart, as on the plain path: at 1,000 campaigns/s with 2 % malformed, 4 batches in 10
    // had one, and the whole batch went the plain way (docs/scaling.md, Eleventh round).
    const jointOk = shard === undefined && joint !== undefined && cancels.length === 0 && rounds.length === 1 && events.length > 1
    const rejectedFirst = jointOk && rejects.length > 0 ? await this.#storeRejects(rejects) : 0
    const rest = jointOk ? [] : rejects
    const jointly = jointOk ? await storeJointly(this.#pool, this.#sender, events, joint).catch(() => undefined) : undefined
    let { stored, rejected } = viaShard
      ? { stored: viaShard, rejected: 0 }
      : jointly
        ? { stored: jointly.stored, rejected: rejectedFirst }
        : await this.#storePlain(events, rest, cancels, rounds).then(r => ({ ...r, rejected: r.rejected + rejectedFirst }))
    // Mismatches are found by the statement, after it has locked campaign rows: their rejects take
    // their shards' locks in a transaction of their own. A crash in between is harmless: the record
    // is redelivered and, a campaign's restaurant never changing, found to mismatch again.
    const mismatched = stored.mismatched.map(r => mismatchReject(r, this.#shards))
    if (mismatched.length > 0) rejected += await withTransaction(this.#pool, client => storeRejects(client, mismatched))
    // Before the caller commits the input offsets: a crash in between only redelivers the cancels.
    await recordCancelPositions(this.#pool, cancels).catch(error => {
      throw translatePgError(error)
    })
    return {
      rows: stored.rows,
      rejected,
      mismatched: mismatched.map(r => r.rejection),
      cancels: stored.cancels,
      cancelsMismatched: stored.mismatched.filter(r => 'cancel' in r).length,
      inShard: viaShard !== undefined,
      fanned: jointly?.fanned ?? [],
    }
  }

  /** A batch's rejects in a short transaction of their own (see #storePlain), their shards notified; how many were new. */
  async #storeRejects(rejects: RejectRow[]): Promise<number> {
    if (rejects.length === 0) return 0
    return withTransaction(this.#pool, async client => {
      const n = await storeRejects(client, rejects, false)
      if (n > 0) await notifyShards(client, this.#payloads(shardWork([], rejects)))
      return n
    })
  }

  /** Each shard's notification of what it got, from this instance. */
  #payloads(work: Map<number, ShardWork>): string[] {
    return [...work].map(([shard, w]) => encodeShardWork(shard, this.#sender, w))
  }

  async #storePlain(events: EventRow[], rejects: RejectRow[], cancels: CancelRow[], rounds: InputRow[][]) {
    // Rejects first, in a short transaction of their own: each shard's rejects must commit in id
    // order, so they take their shards' locks, and a campaign statement may wait for a fan-out chunk
    // that holds its campaign's row (FOR SHARE). In one transaction, the shard locks were held
    // through that wait and stalled those shards' writers: with 3 instances at 0.15 core, a throttled
    // instance's chunk held an ingest, which held writers of other instances. Apart, a crash between
    // the two only redelivers the batch: both skip a stored record by its input position.
    const rejected = await this.#storeRejects(rejects)
    const eventPayloads = () => this.#payloads(shardWork(events, []))
    if (rounds.length <= 1) {
      // The common batch: one autocommitted statement stores the events and notifies their shards.
      try {
        return {
          stored: await storeCampaignRecords(this.#pool, events, cancels, { channel: SHARD_CHANNEL, payloads: eventPayloads() }),
          rejected,
        }
      } catch (error) {
        throw translatePgError(error)
      }
    }
    const split = (round: InputRow[]) => ({
      events: round.filter((r): r is EventRow => !('cancel' in r)),
      cancels: round.filter((r): r is CancelRow => 'cancel' in r),
    })
    return withTransaction(this.#pool, async client => {
      const all: StoredRecords = { rows: [], mismatched: [], cancels: 0 }
      for (const round of rounds) {
        const r = split(round)
        const s = await storeCampaignRecords(client, r.events, r.cancels)
        all.rows.push(...s.rows)
        all.mismatched.push(...s.mismatched)
        all.cancels += s.cancels
      }
      if (all.rows.length > 0) await notifyShards(client, eventPayloads())
      return { stored: all, rejected }
    })
  }
}
