import type { Config } from '../config/settings.ts'
import { stateAt } from '../core/activity.ts'
import type { RuledState } from '../core/campaign-state.ts'
import type { InputRecord } from '../kafka/input-source.ts'
import type { Metrics } from '../metrics/metrics.ts'
import { classifyBatch } from './ingest.ts'
import type { Logger } from './logger.ts'
import type { Clock, Input, WriterStore } from './ports.ts'
import { retry } from './retry.ts'

// Most campaigns fanned out in one transaction, and the smallest chunk worth starting in it.
const MAX_EVENTS_PER_TX = 64
const MIN_CHUNK = 100

// Values of the `disposition` label of offerstream_events_accepted_total, as published before the
// states had one vocabulary; kept because dashboards select on them.
const DISPOSITION: Record<RuledState, string> = { fanning: 'active', pending: 'early', expired: 'expired' }

type WriterConfig = Pick<
  Config,
  'activeMarginSeconds' | 'maxEventBytes' | 'ingestBatch' | 'fanoutChunk' | 'schedulerMaxSleepMs' | 'retryMaxDelayMs'
>

export interface WriterDeps {
  store: WriterStore
  config: WriterConfig
  log: Logger
  metrics: Metrics
  clock: Clock
  createInput: () => Promise<Input>
  /** Called after a commit that wrote something the relay must publish. */
  onWritten: () => void
}

/**
 * The PostgreSQL side: stores input batches (campaigns and rejects), promotes campaigns whose start
 * has come, and fans campaigns out chunk by chunk. Every step is one transaction under the writer
 * lock; input offsets are committed to Kafka only after the batch's transaction commits.
 */
export class Writer {
  #d: WriterDeps
  #input: Input | undefined
  #inflight: InputRecord[] | undefined
  #pendingCommit: Promise<void> | undefined
  #stopping = false
  #hasFanning = true
  #nextDue: number | null = null
  #nextDueCheckMs = 0
  #lastFanned = 0
  #stop = new AbortController()
  /** Message of the last failed step, cleared by the next successful one; read by /healthz. */
  lastError: string | undefined

  constructor(deps: WriterDeps) {
    this.#d = deps
  }

  async run(): Promise<void> {
    const { config, clock, log, metrics } = this.#d
    try {
      while (!this.#stopping) {
        await retry(
          async () => {
            this.#input ??= await this.#d.createInput()
            await this.#step(this.#input)
          },
          {
            clock,
            maxDelayMs: config.retryMaxDelayMs,
            signal: this.#stop.signal,
            onRetry: async (e, attempt, delay) => {
              this.lastError = `${e.code}: ${e.message}`
              metrics.retries.inc({ component: 'writer', code: e.code })
              log.warn({ code: e.code, err: e.message, retryInMs: delay, attempt }, 'writer step failed; retrying')
              if (e.code.startsWith('KAFKA')) await this.#dropInput()
            },
          },
        )
        this.lastError = undefined
      }
    } catch (error) {
      // Stopping cuts a retry short; the failed step's input is redelivered later.
      if (!this.#stopping) throw error
    } finally {
      await this.#dropInput()
    }
  }

  /** Finishes the step in progress, then stops. The uncommitted input is redelivered later. */
  stop(): void {
    this.#stopping = true
    this.#stop.abort()
    this.#input?.interrupt()
  }

  async #dropInput(): Promise<void> {
    const input = this.#input
    this.#input = undefined
    // Records taken but not stored are redelivered by the new consumer from the committed offsets.
    this.#inflight = undefined
    await this.#pendingCommit
    await input?.close()
  }

  async #step(input: Input): Promise<void> {
    const nowMs = this.#d.clock.now()
    const now = Math.floor(nowMs / 1000)
    if ((this.#nextDue !== null && now >= this.#nextDue) || nowMs >= this.#nextDueCheckMs) await this.#promoteDue(now, nowMs)
    if (this.#stopping) return
    const sleepMs = this.#hasFanning ? 0 : this.#idleWaitMs(nowMs)
    this.#d.log.trace({ sleepMs, hasFanning: this.#hasFanning, nextDue: this.#nextDue }, 'writer step')
    if (!this.#inflight) {
      const batch = await input.take(this.#d.config.ingestBatch, sleepMs)
      if (batch.length > 0) this.#inflight = batch
    }
    if (this.#inflight) {
      await this.#ingest(this.#inflight)
      const done = this.#inflight
      this.#inflight = undefined
      // The offset commit (a ~5 ms round trip) runs while this step fans out: the batch is already
      // durable in PostgreSQL, so it only shortens redelivery. One commit in flight at a time, in order.
      await this.#pendingCommit
      this.#pendingCommit = input.commit(done).catch(error => {
        // Harmless: a redelivered record is recognised by its position and skipped.
        this.#d.log.warn({ err: (error as Error).message }, 'input offset commit failed; records may be redelivered')
      })
    }
    if (this.#hasFanning && !this.#stopping) await this.#fanOutOneTransaction()
  }

  /** How long an idle writer waits for input: until the earliest pending start, re-checking at least every schedulerMaxSleepMs. */
  #idleWaitMs(nowMs: number): number {
    const max = this.#d.config.schedulerMaxSleepMs
    if (this.#nextDue === null) return max
    return Math.max(0, Math.min(max, this.#nextDue * 1000 - nowMs))
  }

  async #ingest(batch: InputRecord[]): Promise<void> {
    const { config, metrics, store } = this.#d
    const now = Math.floor(this.#d.clock.now() / 1000)
    const { events, rejects } = classifyBatch(batch, config, now)
    const inserted = await store.transaction(async tx => ({
      rows: await tx.insertEvents(events),
      rejected: await tx.insertRejects(rejects),
    }))
    let expired = 0
    for (const r of inserted.rows) {
      const state = r.status as RuledState
      metrics.eventsAccepted.inc({ disposition: DISPOSITION[state] })
      if (state === 'fanning') this.#hasFanning = true
      if (state === 'expired') expired++
    }
    metrics.campaignsExpired.inc(expired)
    metrics.eventsRedelivered.inc(events.length + rejects.length - inserted.rows.length - inserted.rejected)
    for (const r of rejects) metrics.eventsRejected.inc({ code: r.rejection.code })
    for (const e of events) {
      if (e.status === 'pending' && (this.#nextDue === null || e.campaign.start < this.#nextDue)) this.#nextDue = e.campaign.start
    }
    if (inserted.rejected > 0) this.#d.onWritten()
    if (rejects.length > 0)
      this.#d.log.info({ rejected: rejects.length, codes: [...new Set(rejects.map(r => r.rejection.code))] }, 'input rejected to DLQ')
  }

  /** Pending campaigns whose start has come become fanning, or expired if the rule says their window passed. */
  async #promoteDue(now: number, nowMs: number): Promise<void> {
    const margin = this.#d.config.activeMarginSeconds
    const { fanning, expired, next } = await this.#d.store.transaction(async tx => {
      const due = await tx.dueCampaigns(now)
      const by: Record<RuledState, number[]> = { fanning: [], expired: [], pending: [] }
      for (const c of due) by[stateAt(c.start, c.end, now, margin)].push(c.id)
      await tx.setState(by.fanning, 'fanning', now)
      await tx.setState(by.expired, 'expired', now)
      return { fanning: by.fanning.length, expired: by.expired.length, next: await tx.nextPendingStart() }
    })
    this.#nextDue = next
    this.#nextDueCheckMs = nowMs + this.#d.config.schedulerMaxSleepMs
    if (fanning > 0) this.#hasFanning = true
    if (expired > 0) this.#d.metrics.campaignsExpired.inc(expired)
    if (fanning + expired > 0) this.#d.log.info({ fanning, expired }, 'scheduled campaigns came due')
  }

  async #fanOutOneTransaction(): Promise<void> {
    const { config, metrics } = this.#d
    const now = Math.floor(this.#d.clock.now() / 1000)
    // Several campaigns share one transaction, up to fanoutChunk rows in all: a commit (one WAL flush,
    // the lock, BEGIN) cost ~10 ms per campaign, which capped the writer at ~70 small campaigns/s and
    // queued them (p50 1.8 s at 100/s). Ranges stay contiguous per chunk and commit in id order.
    const results = await this.#d.store.transaction(async tx => {
      const done: Array<{ expired: boolean; inserted: number; campaignId: string }> = []
      const seen = new Set<number>()
      let budget = config.fanoutChunk
      while (done.length < MAX_EVENTS_PER_TX && budget >= MIN_CHUNK) {
        const event = await tx.nextFanning(this.#lastFanned)
        // Back at a campaign this transaction already took: every fanning campaign had its turn.
        if (!event || seen.has(event.id)) break
        seen.add(event.id)
        this.#lastFanned = event.id
        if (stateAt(event.start, event.end, now, config.activeMarginSeconds) === 'expired') {
          await tx.setState([event.id], 'expired', null)
          done.push({ expired: true, inserted: 0, campaignId: event.campaignId })
          continue
        }
        const r = await tx.fanOutChunk(event, budget)
        budget -= r.inserted
        done.push({ expired: false, inserted: r.inserted, campaignId: event.campaignId })
      }
      return done
    })
    if (results.length === 0) {
      this.#hasFanning = false
      return
    }
    let inserted = 0
    for (const result of results) {
      inserted += result.inserted
      if (result.expired) {
        metrics.campaignsExpired.inc()
        this.#d.log.info({ campaign: result.campaignId }, 'campaign passed end minus margin during fan-out; stopped')
      }
    }
    if (inserted > 0) {
      metrics.pushesWritten.inc(inserted)
      this.#d.onWritten()
    }
  }
}
