import type pg from 'pg'
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

  constructor(pool: pg.Pool) {
    this.#pool = pool
  }

  store(events: EventRow[], rejects: RejectRow[]) {
    return withTransaction(this.#pool, async client => {
      const rows = await insertEvents(client, events)
      const rejected = await storeRejects(client, rejects)
      if (rows.length > 0)
        await notifyShards(
          client,
          events.map(e => e.shard),
        )
      return { rows, rejected }
    })
  }
}
