import type pg from 'pg'
import type { SettableState } from '../core/campaign-state.ts'
import type { CapGate, CapView } from './cap-gate.ts'
import { beginShardTransaction, tryBeginShardTransaction } from './shard-lock.ts'
import { cappedCandidates } from './sql/capped-candidates.ts'
import { dueEvents } from './sql/due-events.ts'
import { type ChunkClock, type ChunkResult, fanOutChunk } from './sql/fan-out-chunk.ts'
import { fanOutFirstChunks } from './sql/fan-out-first-chunks.ts'
import { type FanningEvent, fanningEventsIn, fanningRoundRobin } from './sql/fanning-events.ts'
import { type EventRow, type StoredRecords, storeCampaignRecords } from './sql/insert-events.ts'
import { nextPendingStart } from './sql/next-pending-start.ts'
import { setEventState } from './sql/set-event-state.ts'
import { writeCappedChunk } from './sql/write-capped-chunk.ts'
import { withTransaction } from './transaction.ts'

/** One shard's writer transactions: each takes the shard lock and checks the owner's epoch first. Errors come back translated. */
export class PgWriterStore {
  #pool: pg.Pool
  #shard: number
  #epoch: number
  /** The instance's frequency caps (shared by its shards' stores); undefined while both caps are off. */
  #caps: CapGate | undefined

  constructor(pool: pg.Pool, shard: number, epoch: number, caps?: CapGate) {
    this.#pool = pool
    this.#shard = shard
    this.#epoch = epoch
    this.#caps = caps
  }

  /** transaction(fn), unless the shard's lock is taken now: then nothing runs and `ran` is false. */
  async tryTransaction<T>(fn: (tx: PgWriterTx) => Promise<T>, signal?: AbortSignal): Promise<{ ran: true; result: T } | { ran: false }> {
    let busy = false
    try {
      const result = await this.#run(
        fn,
        async client => {
          if (await tryBeginShardTransaction(client, this.#shard, this.#epoch)) return
          busy = true
          throw new Error('shard lock busy')
        },
        signal,
      )
      return { ran: true, result }
    } catch (error) {
      if (busy) return { ran: false }
      throw error
    }
  }

  transaction<T>(fn: (tx: PgWriterTx) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.#run(fn, client => beginShardTransaction(client, this.#shard, this.#epoch), signal)
  }

  async #run<T>(fn: (tx: PgWriterTx) => Promise<T>, begin: (client: pg.PoolClient) => Promise<void>, signal?: AbortSignal): Promise<T> {
    let tx: PgWriterTx | undefined
    // Waiting for the caps' lease here, before the transaction, holds no lock meanwhile.
    await this.#caps?.ready(signal)
    try {
      const result = await withTransaction(
        this.#pool,
        client => {
          tx = new PgWriterTx(client, this.#shard, this.#caps, signal)
          return fn(tx)
        },
        begin,
      )
      if (tx?.capView) this.#caps?.committed(tx.capView)
      return result
    } catch (error) {
      if (tx?.capView) this.#caps?.failed(tx.capView)
      throw error
    }
  }
}

/** A shard writer's statements in a transaction that holds the shard's lock and passed its epoch check. */
export class PgWriterTx {
  #c: pg.PoolClient
  #shard: number
  /** When given, the only events a round may hold, of these shards (a joint ingest transaction's, joint-ingest.ts). */
  #only: { ids: readonly number[]; shards: readonly number[] } | undefined
  /** This transaction's round of fanning campaigns, read at the first nextFanning(). */
  #round: FanningEvent[] | undefined
  #caps: CapGate | undefined
  #signal: AbortSignal | undefined
  /** Set once this transaction passed the caps' gate (holds the fence under its instance's lease). */
  capView: CapView | undefined

  constructor(
    client: pg.PoolClient,
    shard: number,
    caps: CapGate | undefined,
    signal: AbortSignal | undefined,
    only?: { ids: readonly number[]; shards: readonly number[] },
  ) {
    this.#c = client
    this.#shard = shard
    this.#only = only
    this.#caps = caps
    this.#signal = signal
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
  /** No NOTIFY: the shard is this instance's (the epoch check said so under the lock), and its writer is the one storing. */
  storeEvents(events: EventRow[]): Promise<StoredRecords> {
    return storeCampaignRecords(this.#c, events, [])
  }
  /** WriterTx.nextFanning: the round is one query, at the first call; campaigns stored meanwhile wait for the next transaction, whose wake is counted. */
  async nextFanning(afterId: number, limit: number): Promise<FanningEvent | null> {
    this.#round ??= this.#only
      ? await fanningEventsIn(this.#c, this.#only.shards, this.#only.ids, limit)
      : await fanningRoundRobin(this.#c, this.#shard, afterId, limit)
    return this.#round.shift() ?? null
  }
  /** WriterTx.fanOutFirstChunks: one statement, unless the frequency caps are on (their chunk decides per campaign in Node). */
  async fanOutFirstChunks(events: readonly FanningEvent[], size: number, at: ChunkClock): Promise<ChunkResult[]> {
    if (!this.#caps) return fanOutFirstChunks(this.#c, events, size, at)
    const results: ChunkResult[] = []
    for (const e of events) results.push(await this.fanOutChunk(e, size, at))
    return results
  }
  async fanOutChunk(event: FanningEvent, size: number, at: ChunkClock): Promise<ChunkResult> {
    const gate = this.#caps
    if (!gate) return fanOutChunk(this.#c, event, size, at)
    // In statements of their own: every read after the lock must be taken with the lock held.
    this.capView ??= await gate.enter(this.#c, this.#signal)
    const c = await cappedCandidates(this.#c, event, size, at)
    if (!c.live) return { inserted: 0, suppressed: 0, candidates: c.candidates, finished: false, live: false, campaign: c.campaign }
    const decided = gate.decide(c.fresh, c.at, event.restaurantId)
    const done = c.candidates < size
    const w = await writeCappedChunk(this.#c, { eventId: event.id, campaignId: event.campaignId, ...decided, last: c.last, done })
    return { inserted: w.inserted, suppressed: w.suppressed, candidates: c.candidates, finished: done, live: true, campaign: c.campaign }
  }
}
