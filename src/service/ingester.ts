import type { Config } from '../config/settings.ts'
import type { RuledState } from '../core/campaign-state.ts'
import { type ShardWork, shardWork } from '../core/shard-work.ts'
import type { InputRecord } from '../kafka/input-source.ts'
import type { Metrics } from '../metrics/metrics.ts'
import { classifyBatch } from './ingest.ts'
import type { Logger } from './logger.ts'
import type { Clock, IngestStore, Input } from './ports.ts'
import { retry } from './retry.ts'

// Values of the `disposition` label of offerstream_events_accepted_total, as published before the
// states had one vocabulary; kept because dashboards select on them.
const DISPOSITION: Record<RuledState, string> = { fanning: 'active', pending: 'early', expired: 'expired' }
// How long a take waits for input before the loop goes round (stop() interrupts it anyway).
const TAKE_WAIT_MS = 1000

type IngesterConfig = Pick<
  Config,
  'activeMarginSeconds' | 'maxEventBytes' | 'ingestBatch' | 'inputCommitIntervalMs' | 'retryMaxDelayMs' | 'shards'
>

export interface IngesterDeps {
  store: IngestStore
  config: IngesterConfig
  log: Logger
  metrics: Metrics
  clock: Clock
  createInput: () => Promise<Input>
  /** Called after a commit with what each shard got. */
  onStored: (shards: Map<number, ShardWork>) => void
}

/**
 * The ingest stage: reads this instance's input partitions, decides each record's fate and shard
 * (core), and stores the batch in one PostgreSQL transaction, whatever shard it belongs to and
 * whoever owns that. Input offsets are committed to Kafka only after the transaction commits; a
 * redelivered record is recognised by its position and skipped.
 */
export class Ingester {
  #d: IngesterDeps
  #input: Input | undefined
  #inflight: InputRecord[] | undefined
  #pendingCommit: Promise<void> | undefined
  /** The last stored record of each input partition whose offset is not committed yet. */
  #uncommitted = new Map<string, InputRecord>()
  #lastCommitAt = 0
  #stopping = false
  #stop = new AbortController()
  /** Message of the last failed step, cleared by the next successful one; read by /healthz. */
  lastError: string | undefined

  constructor(deps: IngesterDeps) {
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
              metrics.retries.inc({ component: 'ingest', code: e.code })
              log.warn({ code: e.code, err: e.message, retryInMs: delay, attempt }, 'ingest failed; retrying')
              if (e.code.startsWith('KAFKA')) await this.#dropInput()
            },
          },
        )
        this.lastError = undefined
      }
    } catch (error) {
      // Stopping cuts a retry short; the failed batch is redelivered later.
      if (!this.#stopping) throw error
    } finally {
      await this.#dropInput()
    }
  }

  /** Finishes the batch in progress, then stops. The uncommitted input is redelivered later. */
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
    // Stored ones need no commit to be safe, but one saves their redelivery; after a failure it may fail too.
    if (input && this.#uncommitted.size > 0) this.#commit(input)
    this.#uncommitted.clear()
    await this.#pendingCommit
    await input?.close()
  }

  async #step(input: Input): Promise<void> {
    if (!this.#inflight) {
      const batch = await input.take(this.#d.config.ingestBatch, this.#takeWaitMs())
      if (batch.length === 0) {
        if (this.#commitDue()) this.#commit(input)
        return
      }
      this.#inflight = batch
    }
    await this.#ingest(this.#inflight)
    for (const r of this.#inflight) {
      const k = `${r.topic}\u0000${r.partition}`
      const prev = this.#uncommitted.get(k)
      if (!prev || prev.offset < r.offset) this.#uncommitted.set(k, r)
    }
    this.#inflight = undefined
    if (this.#commitDue()) this.#commit(input)
  }

  /** A quiet input still gets its last offsets committed once the interval is up. */
  #takeWaitMs(): number {
    if (this.#uncommitted.size === 0) return TAKE_WAIT_MS
    const dueIn = this.#lastCommitAt + this.#d.config.inputCommitIntervalMs - this.#d.clock.now()
    return Math.max(1, Math.min(TAKE_WAIT_MS, dueIn))
  }

  #commitDue(): boolean {
    return this.#uncommitted.size > 0 && this.#d.clock.now() - this.#lastCommitAt >= this.#d.config.inputCommitIntervalMs
  }

  /**
   * Commits the stored offsets in the background: the batches are already durable in PostgreSQL,
   * so the commit only shortens redelivery, and it overlaps the next take. Committing once per
   * interval instead of once per batch spares the broker an OffsetCommit (and a log append) per
   * ingest transaction: ~60 a second at 100 campaigns/s. One commit in flight at a time, in order.
   */
  #commit(input: Input): void {
    const done = [...this.#uncommitted.values()]
    this.#uncommitted.clear()
    this.#lastCommitAt = this.#d.clock.now()
    const previous = this.#pendingCommit
    this.#pendingCommit = (async () => {
      await previous
      await input.commit(done)
    })().catch(error => {
      // Harmless: a redelivered record is recognised by its position and skipped.
      this.#d.log.warn({ err: (error as Error).message }, 'input offset commit failed; records may be redelivered')
    })
  }

  async #ingest(batch: InputRecord[]): Promise<void> {
    const { config, metrics, store } = this.#d
    const takenAt = this.#d.clock.now()
    const now = Math.floor(takenAt / 1000)
    const { events, cancels, rejects } = classifyBatch(batch, config, now)
    const inserted = await store.store(events, rejects, cancels)
    // Where a quiet rate's latency goes (README, Benchmarks): produce → taken here, then the transaction.
    this.#d.log.debug(
      { records: batch.length, produceToTakeMs: takenAt - batch[0]!.timestampMs, storeMs: this.#d.clock.now() - takenAt },
      'ingest transaction committed',
    )
    let expired = 0
    for (const r of inserted.rows) {
      const state = r.status as RuledState
      metrics.eventsAccepted.inc({ disposition: DISPOSITION[state] })
      if (state === 'expired') expired++
    }
    metrics.campaignsExpired.inc(expired)
    // Cancels are not counted as redelivered: a repeated cancel is applied again (it changes nothing).
    metrics.eventsRedelivered.inc(Math.max(0, events.length + rejects.length - inserted.rows.length - inserted.rejected))
    for (const r of [...rejects.map(r => r.rejection), ...inserted.mismatched]) metrics.eventsRejected.inc({ code: r.code })
    if (inserted.cancels > 0) this.#d.log.info({ cancels: inserted.cancels }, 'campaign cancels stored')
    if (inserted.rows.length + inserted.rejected > 0) this.#d.onStored(shardWork(events, rejects))
    if (rejects.length > 0)
      this.#d.log.info({ rejected: rejects.length, codes: [...new Set(rejects.map(r => r.rejection.code))] }, 'input rejected to DLQ')
  }
}
