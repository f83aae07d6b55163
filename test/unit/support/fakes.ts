// In-memory stand-ins for the writer's and relay's ports, and a clock tests move by hand.
import { randomUUID } from 'node:crypto'
import { stateAt } from '../../../src/core/activity.ts'
import type { RuledState, SettableState } from '../../../src/core/campaign-state.ts'
import type { Rejection } from '../../../src/core/reject-reason.ts'
import { oneShardToFanOut } from '../../../src/core/shard-work.ts'
import { ErrorCodes, OfferstreamError } from '../../../src/errors.ts'
import type { InputRecord } from '../../../src/kafka/input-source.ts'
import type { OutMessage } from '../../../src/kafka/output-producer.ts'
import type { RelayCursor } from '../../../src/kafka/relay-cursor.ts'
import type { InShard } from '../../../src/pg/ingest-store.ts'
import type { ChunkClock, ChunkResult } from '../../../src/pg/sql/fan-out-chunk.ts'
import type { FanningEvent } from '../../../src/pg/sql/fanning-events.ts'
import type { CancelRow, EventRow, StoredRecords } from '../../../src/pg/sql/insert-events.ts'
import type { RejectRow } from '../../../src/pg/sql/insert-rejects.ts'
import type { FeedbackResult } from '../../../src/pg/sql/record-feedback.ts'
import type { RangeRows, RelayFanout } from '../../../src/pg/sql/relay-fanouts.ts'
import type { StoredReject } from '../../../src/pg/sql/relay-rejects.ts'
import type {
  Clock,
  DueCampaign,
  FeedbackItem,
  FeedbackStore,
  IngestStore,
  Input,
  Output,
  RelayStore,
  WriterStore,
  WriterTx,
} from '../../../src/service/ports.ts'

/** Waits, turn by turn of the event loop, until cond holds; fails after many turns. Never sleeps. */
export async function until(cond: () => boolean, what = 'condition'): Promise<void> {
  for (let i = 0; i < 5000; i++) {
    if (cond()) return
    await new Promise(resolve => setImmediate(resolve))
  }
  throw new Error(`timed out waiting for ${what}`)
}

/** Time moves only when a test says so (advance), or, in auto mode, whenever someone sleeps. */
export class FakeClock implements Clock {
  #now: number
  #timers: Array<{ at: number; resolve: () => void }> = []
  /** Every sleep asked for, in ms. */
  sleeps: number[] = []
  auto = false

  constructor(startMs = 1_700_000_000_000) {
    this.#now = startMs
  }

  now(): number {
    return this.#now
  }

  get seconds(): number {
    return Math.floor(this.#now / 1000)
  }

  /** Sleeps not yet over. */
  get waiting(): number {
    return this.#timers.length
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms)
    if (signal?.aborted) return Promise.resolve()
    return new Promise(resolve => {
      const timer = { at: this.#now + ms, resolve: () => resolve() }
      signal?.addEventListener('abort', () => {
        this.#timers = this.#timers.filter(t => t !== timer)
        resolve()
      })
      this.#timers.push(timer)
      if (this.auto) setImmediate(() => this.advance(Math.max(0, timer.at - this.#now)))
    })
  }

  advance(ms: number): void {
    this.#now += ms
    const due = this.#timers.filter(t => t.at <= this.#now)
    this.#timers = this.#timers.filter(t => t.at > this.#now)
    for (const t of due) t.resolve()
  }
}

export interface StoredEvent {
  id: number
  position: string
  restaurantId: string
  campaignId: string
  start: number
  end: number
  status: string
  trigger: number | null
  fanoutAfter: string | null
}

/** offerstream_campaigns in memory: the restaurant, the winning version's window and the cancel. */
export interface MemCampaign {
  restaurantId: string
  start: number | null
  end: number | null
  created: number | null
  versionId: number | null
  cancelled: boolean
}

interface WriterState {
  campaigns: Record<string, MemCampaign>
  events: StoredEvent[]
  rejects: string[]
  feedback: Array<{ id: number; eventId: number; clientId: string }>
}

/** The ingest stage's and a shard writer's tables in memory. A failed transaction leaves no trace, as in PostgreSQL. */
export class MemWriterStore implements WriterStore, IngestStore {
  state: WriterState = { campaigns: {}, events: [], rejects: [], feedback: [] }
  subscribers = new Map<string, string[]>()
  /** Errors the next transactions throw before doing anything, one each. */
  failures: OfferstreamError[] = []
  /** Per committed transaction: the chunks it wrote, as [event id, rows]. */
  transactions: Array<Array<[number, number]>> = []
  /** The event ids of each fanOutFirstChunks call, committed or not. */
  firstChunkBatches: number[][] = []
  /** Runs after each chunk, inside its transaction. */
  afterChunk: ((eventId: number) => void) | undefined
  /** Runs once fn of a transaction is done, before it returns: what commits "right after" it looked. */
  afterTransaction: (() => void) | undefined

  subscribe(restaurantId: string, count: number): void {
    const clients = Array.from({ length: count }, () => randomUUID()).sort()
    this.subscribers.set(restaurantId, clients)
  }

  /** Stores a campaign directly, as an earlier run or another instance would have. */
  addEvent(e: { restaurantId: string; start: number; end: number; status: RuledState }): StoredEvent {
    const id = this.state.events.length + 1
    const event = { id, position: `seeded-${id}`, campaignId: randomUUID(), trigger: null, fanoutAfter: null, ...e }
    this.state.events.push(event)
    this.state.campaigns[event.campaignId] = {
      restaurantId: e.restaurantId,
      start: e.start,
      end: e.end,
      created: 0,
      versionId: id,
      cancelled: false,
    }
    return event
  }

  campaign(campaignId: string): MemCampaign {
    const c = this.state.campaigns[campaignId]
    if (!c) throw new Error(`no campaign ${campaignId}`)
    return c
  }

  event(id: number): StoredEvent {
    const e = this.state.events.find(x => x.id === id)
    if (!e) throw new Error(`no event ${id}`)
    return e
  }

  rowsOf(eventId: number): number {
    return this.state.feedback.filter(f => f.eventId === eventId).length
  }

  /** Transactions begun, including failed ones. */
  begun = 0
  /** Another transaction holds the shard's lock: tryTransaction runs nothing. */
  lockBusy = false

  async tryTransaction<T>(fn: (tx: WriterTx) => Promise<T>): Promise<{ ran: true; result: T } | { ran: false }> {
    if (this.lockBusy) return { ran: false }
    return { ran: true, result: await this.transaction(fn) }
  }

  async transaction<T>(fn: (tx: WriterTx) => Promise<T>): Promise<T> {
    this.begun++
    const failure = this.failures.shift()
    if (failure) throw failure
    const before = structuredClone(this.state)
    const chunks: Array<[number, number]> = []
    try {
      const result = await fn(this.#tx(chunks))
      if (chunks.length > 0) this.transactions.push(chunks)
      this.afterTransaction?.()
      return result
    } catch (error) {
      this.state = before
      throw error
    }
  }

  async store(events: EventRow[], rejects: RejectRow[], cancels: CancelRow[] = [], inShard?: InShard) {
    // As the PostgreSQL store: a batch of one shard's campaigns to fan out now goes through the shard's writer if it takes it.
    const shard = oneShardToFanOut(events, rejects.length + cancels.length)
    const running = shard === undefined ? undefined : inShard?.(shard, events)
    const stored = running ? await running.catch(() => undefined) : undefined
    if (stored) {
      const mismatched: Rejection[] = stored.mismatched.map(() => ({ code: 'restaurant_mismatch', reason: 'another restaurant' }))
      return { rows: stored.rows, rejected: mismatched.length, mismatched, cancels: 0, cancelsMismatched: 0, inShard: true, fanned: [] }
    }
    return this.transaction(async () => {
      const mismatched: Rejection[] = []
      const rows = this.#insertEvents(events, mismatched)
      let applied = 0
      let cancelsMismatched = 0
      for (const k of cancels) {
        const c = this.#claim(k.cancel.campaignId, k.cancel.restaurantId)
        if (!c) {
          mismatched.push({ code: 'restaurant_mismatch', reason: 'another restaurant' })
          cancelsMismatched++
        } else {
          c.cancelled = true
          applied++
        }
      }
      return {
        rows,
        rejected: this.#insertRejects(rejects) + mismatched.length,
        mismatched,
        cancels: applied,
        cancelsMismatched,
        inShard: false,
        fanned: [],
      }
    })
  }

  /** The campaign's row, created for the restaurant if new; undefined when it is another restaurant's. */
  #claim(campaignId: string, restaurantId: string): MemCampaign | undefined {
    const c = this.state.campaigns[campaignId] ?? {
      restaurantId,
      start: null,
      end: null,
      created: null,
      versionId: null,
      cancelled: false,
    }
    this.state.campaigns[campaignId] = c
    return c.restaurantId === restaurantId ? c : undefined
  }

  #insertEvents(rows: EventRow[], mismatched: Rejection[], mismatchedRows: EventRow[] = []) {
    const s = () => this.state
    const out: Array<{ id: number; status: string }> = []
    for (const r of rows) {
      const position = `${r.topic}/${r.partition}/${r.offset}`
      if (s().events.some(e => e.position === position)) continue
      const id = s().events.length + 1
      const c = r.campaign
      const row = this.#claim(c.campaignId, c.restaurantId)
      if (!row) {
        mismatched.push({ code: 'restaurant_mismatch', reason: 'another restaurant' })
        mismatchedRows.push(r)
        continue
      }
      if (row.versionId === null || c.created >= (row.created ?? 0))
        Object.assign(row, { start: c.start, end: c.end, created: c.created, versionId: id })
      s().events.push({
        id,
        position,
        restaurantId: c.restaurantId,
        campaignId: c.campaignId,
        start: c.start,
        end: c.end,
        status: r.status,
        trigger: r.trigger,
        fanoutAfter: null,
      })
      out.push({ id, status: r.status })
    }
    return out
  }

  #insertRejects(rows: RejectRow[]) {
    let n = 0
    for (const r of rows) {
      const position = `${r.topic}/${r.partition}/${r.offset}`
      if (this.state.rejects.includes(position)) continue
      this.state.rejects.push(position)
      n++
    }
    return n
  }

  #tx(chunks: Array<[number, number]>): WriterTx {
    const s = () => this.state
    let round: FanningEvent[] | undefined
    const fanOutChunk = async (event: FanningEvent, size: number, at: ChunkClock): Promise<ChunkResult> => {
      // As the statement: the campaign's row as it is now decides, not the round's copy.
      const c = this.campaign(event.campaignId)
      const campaign = { start: c.start, end: c.end, cancelled: c.cancelled }
      const live =
        !c.cancelled && c.start !== null && c.end !== null && stateAt(c.start, c.end, at.nowSeconds, at.marginSeconds) === 'fanning'
      if (!live) return { inserted: 0, suppressed: 0, candidates: 0, finished: false, live, campaign }
      const all = this.subscribers.get(event.restaurantId) ?? []
      const candidates = all.filter(c => event.fanoutAfter === null || c > event.fanoutAfter).slice(0, size)
      for (const clientId of candidates) s().feedback.push({ id: s().feedback.length + 1, eventId: event.id, clientId })
      const stored = this.event(event.id)
      stored.fanoutAfter = candidates.at(-1) ?? stored.fanoutAfter
      const finished = candidates.length < size
      if (finished) stored.status = 'done'
      chunks.push([event.id, candidates.length])
      this.afterChunk?.(event.id)
      return { inserted: candidates.length, suppressed: 0, candidates: candidates.length, finished, live, campaign }
    }
    return {
      dueCampaigns: async (nowSeconds: number): Promise<DueCampaign[]> =>
        s()
          .events.map(e => ({ e, c: this.campaign(e.campaignId) }))
          .filter(({ e, c }) => e.status === 'pending' && (c.cancelled || (c.start ?? Infinity) <= nowSeconds))
          .map(({ e, c }) => ({ id: e.id, start: c.start, end: c.end, cancelled: c.cancelled })),
      setState: async (ids: number[], state: SettableState, trigger: number | null) => {
        for (const e of s().events)
          if (ids.includes(e.id)) {
            e.status = state
            if (trigger !== null) e.trigger = trigger
          }
      },
      nextPendingStart: async () => {
        const starts = s()
          .events.filter(e => e.status === 'pending')
          .map(e => this.campaign(e.campaignId).start ?? Infinity)
        return starts.length ? Math.min(...starts) : null
      },
      storeEvents: async (events: EventRow[]): Promise<StoredRecords> => {
        const mismatched: EventRow[] = []
        return { rows: this.#insertEvents(events, [], mismatched), mismatched, cancels: 0 }
      },
      // WriterTx's contract: one round per transaction, read at the first call.
      nextFanning: async (afterId: number, limit: number): Promise<FanningEvent | null> => {
        round ??= s()
          .events.filter(e => e.status === 'fanning')
          .sort((a, b) => Number(a.id <= afterId) - Number(b.id <= afterId) || a.id - b.id)
          .slice(0, limit)
          .flatMap(e => {
            const c = this.campaign(e.campaignId)
            if (!c) return []
            return [
              {
                id: e.id,
                shard: 0,
                restaurantId: e.restaurantId,
                campaignId: e.campaignId,
                start: c.start,
                end: c.end,
                cancelled: c.cancelled,
                fanoutAfter: e.fanoutAfter,
                resent: s().events.some(o => o.campaignId === e.campaignId && o.id !== e.id),
              },
            ]
          })
        return round.shift() ?? null
      },
      fanOutChunk,
      // As the statement: each in turn, in the order given, each checked as fanOutChunk checks it.
      fanOutFirstChunks: async (events: readonly FanningEvent[], size: number, at: ChunkClock): Promise<ChunkResult[]> => {
        for (const e of events)
          if (e.fanoutAfter !== null || e.resent) throw new Error(`event ${e.id} is not a first chunk of a campaign sent once`)
        this.firstChunkBatches.push(events.map(e => e.id))
        const results: ChunkResult[] = []
        for (const e of events) results.push(await fanOutChunk(e, size, at))
        return results
      },
    }
  }
}

/** The feedback intake's tables: pushes sent, feedback recorded (one per event key), rejects by position. */
export class MemFeedbackStore implements FeedbackStore {
  /** `campaign/client` of every push sent. */
  pushes = new Set<string>()
  recorded: string[] = []
  rejects: RejectRow[] = []
  /** Errors the next transactions throw before doing anything, one each. */
  failures: OfferstreamError[] = []
  transactions = 0

  async store(items: FeedbackItem[], rejects: RejectRow[]): Promise<{ results: FeedbackResult[]; rejected: number }> {
    const failure = this.failures.shift()
    if (failure) throw failure
    this.transactions++
    const all = [...rejects]
    const results = items.map(({ feedback: f, unknownPush }): FeedbackResult => {
      if (!this.pushes.has(`${f.adv_campaign_id}/${f.client_id}`)) {
        all.push(unknownPush('no such push'))
        return { outcome: 'unknown_push', reason: 'no such push' }
      }
      const key = `${f.adv_campaign_id}/${f.client_id}/${f.feedback}/${f.datetime_created}`
      if (this.recorded.includes(key)) return { outcome: 'duplicate' }
      this.recorded.push(key)
      return { outcome: 'recorded' }
    })
    let rejected = 0
    for (const r of all) {
      if (this.rejects.some(x => x.topic === r.topic && x.partition === r.partition && x.offset === r.offset)) continue
      this.rejects.push(r)
      rejected++
    }
    return { results, rejected }
  }
}

/** A topic partition with a committed offset: what the consumer group would redeliver. */
export class FakeTopic {
  records: InputRecord[] = []
  committed = 0n
  inputs: FakeInput[] = []

  /** Appends a campaign record and returns its offset. */
  send(value: Buffer | null): bigint {
    const offset = BigInt(this.records.length)
    this.records.push({ topic: 'in', partition: 0, offset, leaderEpoch: 0, timestampMs: 0, key: null, value })
    for (const i of this.inputs) i.interrupt()
    return offset
  }

  campaign(c: { restaurantId: string; start: number; end: number; campaignId?: string }): bigint {
    return this.send(
      Buffer.from(
        JSON.stringify({
          restaurant_id: c.restaurantId,
          adv_campaign_id: c.campaignId ?? randomUUID(),
          adv_campaign_content: 'promo',
          adv_campaign_datetime_start: c.start,
          adv_campaign_datetime_end: c.end,
          datetime_created: c.start,
        }),
      ),
    )
  }
}

export class FakeInput implements Input {
  #topic: FakeTopic
  #clock: Clock
  #position: bigint
  #wait: AbortController | undefined
  /** waitMs of every take(). */
  takes: number[] = []
  closed = false
  failTake: OfferstreamError | undefined

  constructor(topic: FakeTopic, clock: Clock) {
    this.#topic = topic
    this.#clock = clock
    this.#position = topic.committed
    topic.inputs.push(this)
  }

  get waiting(): boolean {
    return this.#wait !== undefined
  }

  async take(max: number, waitMs: number): Promise<InputRecord[]> {
    this.takes.push(waitMs)
    if (this.failTake) throw this.failTake
    if (this.#available() === 0 && waitMs > 0) {
      this.#wait = new AbortController()
      await this.#clock.sleep(waitMs, this.#wait.signal)
      this.#wait = undefined
    }
    const batch = this.#topic.records.slice(Number(this.#position), Number(this.#position) + max)
    this.#position += BigInt(batch.length)
    return batch
  }

  #available(): number {
    return this.#topic.records.length - Number(this.#position)
  }

  async commit(batch: InputRecord[]): Promise<void> {
    const last = batch[batch.length - 1]
    if (last && last.offset + 1n > this.#topic.committed) this.#topic.committed = last.offset + 1n
  }

  interrupt(): void {
    this.#wait?.abort()
  }

  async close(): Promise<void> {
    this.closed = true
    this.#topic.inputs = this.#topic.inputs.filter(i => i !== this)
  }
}

/** Committed fan-out rows and rejects, as the relay reads them. */
/** As the SQL returns them: count, last id, the client ids concatenated in id order. */
const rangeRowsOf = (rows: Array<{ id: number; clientId: string }>): RangeRows => ({
  count: rows.length,
  lastId: rows.at(-1)?.id ?? 0,
  clients: rows.map(r => r.clientId).join(''),
})

export class MemRelayStore implements RelayStore {
  fanouts: RelayFanout[] = []
  feedback: Array<{ id: number; campaignId: string; clientId: string }> = []
  rejects: StoredReject[] = []
  /** Errors the next reads throw, one each. */
  failures: OfferstreamError[] = []
  /** Push cursor of every batch read (fanoutsAfter call). */
  reads: number[] = []
  /** Calls of feedbackClients and of rejectsAfter. */
  clientReads = 0
  rejectReads = 0
  /** Whether fanoutsAfter returns the rows of the leading ranges that fit in its budget, as the SQL does. */
  withRows = false
  #nextId = 1

  /** Commits one fan-out chunk of `count` clients, with contiguous ids; returns the client ids. */
  addFanout(count: number, campaignId: string = randomUUID()): string[] {
    const clients = Array.from({ length: count }, () => randomUUID())
    const firstId = this.#nextId
    for (const clientId of clients) this.feedback.push({ id: this.#nextId++, campaignId, clientId })
    const campaign = {
      restaurantId: randomUUID(),
      campaignId,
      content: 'promo',
      owner: null,
      ownerContact: null,
      start: 1,
      end: 2,
      created: 1,
    }
    const eventId = this.fanouts.length + 1
    const source = { topic: 'in', partition: 0, offset: String(eventId) }
    this.fanouts.push({ firstId, lastId: this.#nextId - 1, eventId, trigger: 1, source, campaign })
    return clients
  }

  addReject(): void {
    const id = this.rejects.length + 1
    this.rejects.push({
      id,
      topic: 'in',
      partition: 0,
      offset: String(id),
      key: null,
      value: Buffer.from('x'),
      code: 'not_json',
      reason: 'not JSON',
    })
  }

  #fail(): void {
    const failure = this.failures.shift()
    if (failure) throw failure
  }

  async fanoutsAfter(pushCursor: number, limit: number, rowBudget: number): Promise<RelayFanout[]> {
    this.reads.push(pushCursor)
    this.#fail()
    const ranges = this.fanouts.filter(f => f.lastId > pushCursor).slice(0, limit)
    if (!this.withRows) return ranges
    let upto = 0
    return ranges.map(f => {
      upto += f.lastId - Math.max(pushCursor, f.firstId - 1)
      if (upto > rowBudget) return f
      const rows = this.feedback.filter(
        r => r.id > Math.max(pushCursor, f.firstId - 1) && r.id <= f.lastId && r.campaignId === f.campaign.campaignId,
      )
      return { ...f, rows: rangeRowsOf(rows) }
    })
  }

  async feedbackClients(campaignId: string, afterId: number, lastId: number, limit: number) {
    this.clientReads++
    this.#fail()
    const rows = this.feedback.filter(f => f.id > afterId && f.id <= lastId && f.campaignId === campaignId).slice(0, limit)
    return rangeRowsOf(rows)
  }

  async rejectsAfter(dlqCursor: number, limit: number): Promise<StoredReject[]> {
    this.rejectReads++
    this.#fail()
    return this.rejects.filter(r => r.id > dlqCursor).slice(0, limit)
  }
}

/** The output topics and the state topic: what consumers see, and which producer epoch owns the id. */
export class FakeBroker {
  committed: OutMessage[] = []
  cursor: RelayCursor = { push: 0, dlq: 0 }
  /** Messages per committed transaction. */
  transactions: number[] = []
  epoch = 0
  opened = 0
  closed = 0
  /** What the next publishes do, one each: throw the error (after sending, before commit), or commit (null). */
  failures: Array<OfferstreamError | null> = []
  /** When set, a publish waits for it before committing. */
  gate: Promise<void> | undefined
  publishing = 0

  output(): Output {
    let epoch = -1
    let closed = false
    return {
      open: async () => {
        this.opened++
        epoch = ++this.epoch
        return { ...this.cursor }
      },
      publish: async (messages, cursor) => {
        if (closed) throw new Error('publish on a closed producer')
        this.publishing++
        try {
          await this.gate
          const failure = this.failures.shift()
          if (failure) throw failure
          if (epoch !== this.epoch) throw new OfferstreamError(ErrorCodes.KAFKA_FENCED, 'producer fenced', { retryable: true })
          this.committed.push(...messages)
          this.transactions.push(messages.length)
          this.cursor = { ...cursor }
        } finally {
          this.publishing--
        }
      },
      close: async () => {
        if (!closed) this.closed++
        closed = true
      },
    }
  }
}
