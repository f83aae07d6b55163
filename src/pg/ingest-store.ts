import type pg from 'pg'
import { encodeShardWork, shardWork } from '../core/shard-work.ts'
import { type EventRow, insertEvents } from './sql/insert-events.ts'
import type { RejectRow } from './sql/insert-rejects.ts'
import { notifyShards } from './sql/notify-shards.ts'
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

  store(events: EventRow[], rejects: RejectRow[]) {
    return withTransaction(this.#pool, async client => {
      const rows = await insertEvents(client, events)
      const rejected = await storeRejects(client, rejects, false)
      if (rows.length + rejected > 0)
        await notifyShards(
          client,
          [...shardWork(events, rejects)].map(([shard, work]) => encodeShardWork(shard, this.#sender, work)),
        )
      return { rows, rejected }
    })
  }
}
