import type pg from 'pg'
import { translatePgError } from './pg-errors.ts'
import { feedbackClients } from './sql/feedback-clients.ts'
import { relayFanouts } from './sql/relay-fanouts.ts'
import { relayRejects } from './sql/relay-rejects.ts'

const translated = <T>(p: Promise<T>): Promise<T> =>
  p.catch(error => {
    throw translatePgError(error)
  })

/** One shard relay's reads of committed rows, each on its own pooled connection. Errors come back translated. */
export class PgRelayStore {
  #pool: pg.Pool
  #shard: number

  constructor(pool: pg.Pool, shard: number) {
    this.#pool = pool
    this.#shard = shard
  }

  fanoutsAfter(pushCursor: number, limit: number, rowBudget: number) {
    return translated(relayFanouts(this.#pool, this.#shard, pushCursor, limit, rowBudget))
  }
  feedbackClients(campaignId: string, afterId: number, lastId: number, limit: number) {
    return translated(feedbackClients(this.#pool, campaignId, afterId, lastId, limit))
  }
  rejectsAfter(dlqCursor: number, limit: number) {
    return translated(relayRejects(this.#pool, this.#shard, dlqCursor, limit))
  }
}
