import type pg from 'pg'
import { encodeShardWork, shardWork } from '../core/shard-work.ts'
import { translatePgError } from './pg-errors.ts'
import { type EventRow, insertEvents } from './sql/insert-events.ts'
import type { RejectRow } from './sql/insert-rejects.ts'
import { notifyShards, SHARD_CHANNEL } from './sql/notify-shards.ts'
import { storeRejects } from './store-rejects.ts'
import { withTransaction } from './transaction.ts'

/**
 * The ingest stage's transaction. Events need no shard lock: nothing reads them in id order, and
 * a redelivered record is skipped by its input position whichever instance stores it first.
 */
export class PgIngestStore {
  #pool: pg.Pool
  #sender: string

  /** sender: this instance's id, carried by the shard notifications so that it can skip its own. */
  constructor(pool: pg.Pool, sender: string) {
    this.#pool = pool
    this.#sender = sender
  }

  async store(events: EventRow[], rejects: RejectRow[]) {
    const payloads = () => [...shardWork(events, rejects)].map(([shard, work]) => encodeShardWork(shard, this.#sender, work))
    if (rejects.length === 0) {
      // The common batch: one autocommitted statement stores the events and notifies their shards.
      try {
        const rows = await insertEvents(this.#pool, events, { channel: SHARD_CHANNEL, payloads: payloads() })
        return { rows, rejected: 0 }
      } catch (error) {
        throw translatePgError(error)
      }
    }
    return withTransaction(this.#pool, async client => {
      const rows = await insertEvents(client, events)
      const rejected = await storeRejects(client, rejects, false)
      if (rows.length + rejected > 0) await notifyShards(client, payloads())
      return { rows, rejected }
    })
  }
}
