import type pg from 'pg'
import type { RuledState } from '../core/campaign-state.ts'
import { type Caps, capsOn, NO_CAPS } from '../core/frequency-cap.ts'
import { beginShardTransaction } from './shard-lock.ts'
import { dueEvents } from './sql/due-events.ts'
import { type ChunkResult, fanOutChunk } from './sql/fan-out-chunk.ts'
import { type FanningEvent, fanningRoundRobin } from './sql/fanning-events.ts'
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

const LOCK_NOT_AVAILABLE = '55P03'

// The writer takes at most this many campaigns per transaction (MAX_EVENTS_PER_TX in writer.ts).
const FANNING_PER_TX = 64

class PgWriterTx {
  #c: pg.PoolClient
  #shard: number
  /** This transaction's round of fanning campaigns, read at the first nextFanning(). */
  #round: FanningEvent[] | undefined
  #caps: Caps
  /** Capped chunk statements so far in this transaction. */
  #capped = 0

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
  /**
   * With a cap on, each chunk statement locks its clients' offerstream_cap_history rows, in client
   * order, until the commit. Only the transaction's first such statement may wait for a row: a later
   * one holds rows from the earlier ones, and two transactions waiting for each other's rows would
   * deadlock (measured: bench/cap-statements.ts). So a later one runs under a savepoint with a 1 ms
   * lock timeout, and if another transaction holds one of its clients it is undone and reported
   * `blocked`: the writer commits what it has and starts that campaign's chunk in a new transaction.
   */
  async fanOutChunk(event: FanningEvent, size: number): Promise<ChunkResult> {
    if (!capsOn(this.#caps)) return fanOutChunk(this.#c, event, size)
    if (this.#capped++ === 0) return fanOutChunk(this.#c, event, size, this.#caps)
    await this.#c.query("savepoint offerstream_cap; set local lock_timeout = '1ms'")
    try {
      const r = await fanOutChunk(this.#c, event, size, this.#caps)
      // The timeout is for this statement only: the transaction's other statements wait as usual.
      await this.#c.query('release savepoint offerstream_cap; set local lock_timeout to default')
      return r
    } catch (error) {
      if ((error as { code?: string }).code !== LOCK_NOT_AVAILABLE) throw error
      await this.#c.query('rollback to savepoint offerstream_cap')
      return { inserted: 0, suppressed: 0, candidates: 0, finished: false, blocked: true }
    }
  }
}
