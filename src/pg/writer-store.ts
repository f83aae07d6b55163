import type pg from 'pg'
import type { RuledState } from '../core/campaign-state.ts'
import { type Caps, capsOn, NO_CAPS } from '../core/frequency-cap.ts'
import { beginShardTransaction } from './shard-lock.ts'
import { dueEvents } from './sql/due-events.ts'
import { fanOutChunk } from './sql/fan-out-chunk.ts'
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

// The writer takes at most this many campaigns per transaction (MAX_EVENTS_PER_TX in writer.ts).
const FANNING_PER_TX = 64

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
  setState(ids: number[], state: RuledState, trigger: number | null) {
    return setEventState(this.#c, ids, state, trigger)
  }
  nextPendingStart() {
    return nextPendingStart(this.#c, this.#shard)
  }
  /**
   * The next campaign of this transaction's round, null once each has had its turn. Every call but
   * the first continues the round the first one read (the writer passes the id it just took, so the
   * order is the same); campaigns stored meanwhile wait for the next transaction, whose wake is counted.
   */
  async nextFanning(afterId: number): Promise<FanningEvent | null> {
    this.#round ??= await fanningRoundRobin(this.#c, this.#shard, afterId, FANNING_PER_TX)
    return this.#round.shift() ?? null
  }
  async fanOutChunk(event: FanningEvent, size: number) {
    if (!this.#capsLocked && capsOn(this.#caps)) {
      // In a statement of its own: each chunk statement's snapshot must be taken with the lock held.
      await lockCaps(this.#c)
      this.#capsLocked = true
    }
    return fanOutChunk(this.#c, event, size, this.#caps)
  }
}
