import type pg from 'pg'
import type { RuledState } from '../core/campaign-state.ts'
import { takeShardLocks } from './shard-lock.ts'
import { checkShardEpoch } from './sql/check-shard-epoch.ts'
import { dueEvents } from './sql/due-events.ts'
import { fanOutChunk } from './sql/fan-out-chunk.ts'
import { type FanningEvent, nextFanningEvent } from './sql/fanning-events.ts'
import { nextPendingStart } from './sql/next-pending-start.ts'
import { setEventState } from './sql/set-event-state.ts'
import { withTransaction } from './transaction.ts'

/** One shard's writer transactions: each takes the shard lock and checks the owner's epoch first. Errors come back translated. */
export class PgWriterStore {
  #pool: pg.Pool
  #shard: number
  #epoch: number

  constructor(pool: pg.Pool, shard: number, epoch: number) {
    this.#pool = pool
    this.#shard = shard
    this.#epoch = epoch
  }

  transaction<T>(fn: (tx: PgWriterTx) => Promise<T>): Promise<T> {
    return withTransaction(this.#pool, async client => {
      await takeShardLocks(client, [this.#shard])
      await checkShardEpoch(client, this.#shard, this.#epoch)
      return fn(new PgWriterTx(client, this.#shard))
    })
  }
}

class PgWriterTx {
  #c: pg.PoolClient
  #shard: number

  constructor(client: pg.PoolClient, shard: number) {
    this.#c = client
    this.#shard = shard
  }

  dueCampaigns(nowSeconds: number) {
    return dueEvents(this.#c, this.#shard, nowSeconds)
  }
  setState(ids: number[], state: RuledState, trigger: number | null) {
    return setEventState(this.#c, ids, state, trigger)
  }
  nextPendingStart() {
    return nextPendingStart(this.#c, this.#shard)
  }
  nextFanning(afterId: number) {
    return nextFanningEvent(this.#c, this.#shard, afterId)
  }
  fanOutChunk(event: FanningEvent, size: number) {
    return fanOutChunk(this.#c, event, size)
  }
}
