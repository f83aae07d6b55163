import type pg from 'pg'
import { translatePgError } from './pg-errors.ts'
import { feedbackClients } from './sql/feedback-clients.ts'
import { relayFanouts } from './sql/relay-fanouts.ts'
import { relayRejects } from './sql/relay-rejects.ts'

const translated = <T>(p: Promise<T>): Promise<T> =>
  p.catch(error => {
    throw translatePgError(error)
  })

/** The relay's reads of committed rows, each on its own pooled connection. Errors come back translated. */
export class PgRelayStore {
  #pool: pg.Pool

  constructor(pool: pg.Pool) {
    this.#pool = pool
  }

  fanoutsAfter(pushCursor: number, limit: number) {
    return translated(relayFanouts(this.#pool, pushCursor, limit))
  }
  feedbackClients(campaignId: string, afterId: number, lastId: number, limit: number) {
    return translated(feedbackClients(this.#pool, campaignId, afterId, lastId, limit))
  }
  rejectsAfter(dlqCursor: number, limit: number) {
    return translated(relayRejects(this.#pool, dlqCursor, limit))
  }
}
