import type pg from 'pg'
import type { SettableState } from '../core/campaign-state.ts'
import { type Caps, capsOn, NO_CAPS } from '../core/frequency-cap.ts'
import { beginShardTransaction } from './shard-lock.ts'
import { dueEvents } from './sql/due-events.ts'
import { type ChunkClock, fanOutChunk } from './sql/fan-out-chunk.ts'
import { type FanningEvent, fanningRoundRobin } from './sql/fanning-events.ts'
import { lockCaps } from './sql/lock-caps.ts'
import { nextPendingStart } from './sql/next-pending-start.ts'
import { setEventState } from './sql/set-event-state.ts'
import { withTransaction } from './transaction.ts'

/** One shard's writer transactions: each takes the shard lock and checks the owner's epoch first. Errors come back translated. */
export class PgWriterStore {
  #pool: pg.Pool
  #shard: number
  #epoch: number
  #caps: Caps

  constructor(pool: pg.Pool, shard: number, epoch: number, caps: Caps = NO_CAPS) {
    this.#pool = pool
    this.#shard = shard
    this.#epoch = epoch
    this.#caps = caps
  }

  transaction<T>(fn: (tx: PgWriterTx) => Promise<T>): Promise<T> {
    return withTransaction(
      this.#pool,
      client => fn(new PgWriterTx(client, this.#shard, this.#caps)),
      client => beginShardTransaction(client, this.#shard, this.#epoch),
    )
  }
}

class PgWriterTx {
  #c: pg.PoolClient
  #shard: number
  /** This transaction's round of fanning campaigns, read at the first nextFanning(). */
  #round: FanningEvent[] | undefined
  #caps: Caps
  #capsLocked = false

  constructor(client: pg.PoolClient, shard: number, caps: Caps) {
    this.#c = client
    this.#shard = shard
    this.#caps = caps
  }

  dueCampaigns(nowSeconds: number) {
    return dueEvents(this.#c, this.#shard, nowSeconds)
  }
  setState(ids: number[], state: SettableState, trigger: number | null) {
    return setEventState(this.#c, ids, state, trigger)
  }
  nextPendingStart() {
    return nextPendingStart(this.#c, this.#shard)
  }
  /** WriterTx.nextFanning: the round is one query, at the first call; campaigns stored meanwhile wait for the next transaction, whose wake is counted. */
  async nextFanning(afterId: number, limit: number): Promise<FanningEvent | null> {
    this.#round ??= await fanningRoundRobin(this.#c, this.#shard, afterId, limit)
    return this.#round.shift() ?? null
  }
  async fanOutChunk(event: FanningEvent, size: number, at: ChunkClock) {
    if (!this.#capsLocked && capsOn(this.#caps)) {
      // In a statement of its own: each chunk statement's snapshot must be taken with the lock held.
      await lockCaps(this.#c)
      this.#capsLocked = true
    }
    return fanOutChunk(this.#c, event, size, at, this.#caps)
  }
}
