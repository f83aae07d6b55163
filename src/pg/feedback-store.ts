import type pg from 'pg'
import type { Feedback } from '../core/feedback.ts'
import type { RejectRow } from './sql/insert-rejects.ts'
import { recordFeedback } from './sql/record-feedback.ts'
import { storeRejects } from './store-rejects.ts'
import { withTransaction } from './transaction.ts'

/**
 * The feedback intake's transaction (FeedbackStore). Shard locks are taken only when there are
 * rejects: their ids must become visible in id order for the relay's cursor, and feedback rows
 * alone never hold up the fan-out. They are taken after the stage updates' row locks; that cannot
 * deadlock as long as no holder of a shard lock updates or deletes existing pushes (the fan-out
 * only inserts). If one ever does, PostgreSQL breaks the cycle with a retryable error and the batch
 * is redelivered. Errors come back translated.
 */
export class PgFeedbackStore {
  #pool: pg.Pool

  constructor(pool: pg.Pool) {
    this.#pool = pool
  }

  /** FeedbackStore.store (src/service/ports.ts). */
  store(items: Array<{ feedback: Feedback; unknownPush: (reason: string) => RejectRow }>, rejects: RejectRow[]) {
    return withTransaction(this.#pool, async client => {
      const results = await recordFeedback(
        client,
        items.map(i => i.feedback),
        'kafka',
      )
      const all = [...rejects]
      results.forEach((r, i) => {
        const item = items[i]
        if (r.outcome === 'unknown_push' && item) all.push(item.unknownPush(r.reason ?? 'no such push'))
      })
      return { results, rejected: await storeRejects(client, all) }
    })
  }
}
