import type pg from 'pg'
import type { RuledState } from '../core/campaign-state.ts'
import { dueEvents } from './sql/due-events.ts'
import { fanOutChunk } from './sql/fan-out-chunk.ts'
import { type FanningEvent, nextFanningEvent } from './sql/fanning-events.ts'
import { type EventRow, insertEvents } from './sql/insert-events.ts'
import { insertRejects, type RejectRow } from './sql/insert-rejects.ts'
import { nextPendingStart } from './sql/next-pending-start.ts'
import { setEventState } from './sql/set-event-state.ts'
import { withTransaction } from './transaction.ts'
import { takeWriterLock } from './writer-lock.ts'

/** The writer's transaction on PostgreSQL: each one takes the writer lock first. Errors come back translated. */
export class PgWriterStore {
  #pool: pg.Pool

  constructor(pool: pg.Pool) {
    this.#pool = pool
  }

  transaction<T>(fn: (tx: PgWriterTx) => Promise<T>): Promise<T> {
    return withTransaction(this.#pool, async client => {
      await takeWriterLock(client)
      return fn(new PgWriterTx(client))
    })
  }
}

class PgWriterTx {
  #c: pg.PoolClient

  constructor(client: pg.PoolClient) {
    this.#c = client
  }

  insertEvents(rows: EventRow[]) {
    return insertEvents(this.#c, rows)
  }
  insertRejects(rows: RejectRow[]) {
    return insertRejects(this.#c, rows)
  }
  dueCampaigns(nowSeconds: number) {
    return dueEvents(this.#c, nowSeconds)
  }
  setState(ids: number[], state: RuledState, trigger: number | null) {
    return setEventState(this.#c, ids, state, trigger)
  }
  nextPendingStart() {
    return nextPendingStart(this.#c)
  }
  nextFanning(afterId: number) {
    return nextFanningEvent(this.#c, afterId)
  }
  fanOutChunk(event: FanningEvent, size: number) {
    return fanOutChunk(this.#c, event, size)
  }
}
