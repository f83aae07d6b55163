import type { Config } from '../config/settings.ts'
import type { RuledState } from '../core/campaign-state.ts'
import { type ShardWork, shardWork } from '../core/shard-work.ts'
import type { InputRecord } from '../kafka/input-source.ts'
import type { Metrics } from '../metrics/metrics.ts'
import type { InShard } from '../pg/ingest-store.ts'
import type { JointFanOut } from '../pg/joint-ingest.ts'
import { classifyBatch } from './ingest.ts'
import { InputLoop } from './input-loop.ts'
import type { Logger } from './logger.ts'
import type { OffsetCommits } from './offset-commits.ts'
import type { Clock, IngestStore, Input } from './ports.ts'

// Values of the `disposition` label of offerstream_events_accepted_total, as published before the
// states had one vocabulary; kept because dashboards select on them.
const DISPOSITION: Record<RuledState, string> = { fanning: 'active', pending: 'early', expired: 'expired' }

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
  /** Stores a batch of one shard's campaigns in that shard's fan-out transaction, when the shard runs here (IngestStore). */
  inShard?: InShard
  /** Fans out a batch's new campaigns of several shards that run here in the ingest's own transaction (IngestStore). */
  joint?: JointFanOut<unknown>
}

/**
 * The ingest stage: reads this instance's input partitions, decides each record's fate and shard
 * (core), and stores the batch in one PostgreSQL transaction, whatever shard it belongs to and
 * whoever owns that. Input offsets are committed to Kafka only after the transaction commits; a
 * redelivered record is recognised by its position and skipped.
 */
export class Ingester {
  #d: IngesterDeps
  #inflight: InputRecord[] | undefined
  #loop: InputLoop

  constructor(deps: IngesterDeps) {
    this.#d = deps
    this.#loop = new InputLoop({
      component: 'ingest',
      clock: deps.clock,
      log: deps.log,
      metrics: deps.metrics,
      retryMaxDelayMs: deps.config.retryMaxDelayMs,
      retryMessage: 'ingest failed; retrying',
      commitIntervalMs: deps.config.inputCommitIntervalMs,
      createInput: deps.createInput,
      step: (input, commits) => this.#step(input, commits),
      // A PostgreSQL failure retries the batch in flight with the same consumer; a Kafka one rebuilds it.
      dropsInput: e => e.code.startsWith('KAFKA'),
      // Records taken but not stored are redelivered by the new consumer from the committed offsets.
      onDrop: () => {
        this.#inflight = undefined
      },
    })
  }

  /** Message of the last failed step, cleared by the next successful one; read by /healthz. */
  get lastError(): string | undefined {
    return this.#loop.lastError
  }

  /** Runs until stopped; rejects on a non-retryable failure. */
  run(): Promise<void> {
    return this.#loop.run()
  }

  /** Finishes the batch in progress, then stops and closes the input. The uncommitted input is redelivered later. */
  stop(): Promise<void> {
    return this.#loop.stop()
  }

  async #step(input: Input, commits: OffsetCommits): Promise<void> {
    if (!this.#inflight) {
      const batch = await input.take(this.#d.config.ingestBatch, commits.takeWaitMs())
      if (batch.length === 0) {
        commits.maybeCommit(input)
        return
      }
      this.#inflight = batch
    }
    await this.#ingest(this.#inflight)
    const stored = this.#inflight
    this.#inflight = undefined
    commits.stored(input, stored)
  }

  async #ingest(batch: InputRecord[]): Promise<void> {
    const { config, metrics, store } = this.#d
    const takenAt = this.#d.clock.now()
    const now = Math.floor(takenAt / 1000)
    const { events, cancels, rejects } = classifyBatch(batch, config, now)
    const inserted = await store.store(events, rejects, cancels, this.#d.inShard, this.#d.joint)
    // Where a quiet rate's latency goes (README, Benchmarks): produce → taken here, then the transaction.
    this.#d.log.debug(
      {
        records: batch.length,
        produceToTakeMs: takenAt - batch[0]!.timestampMs,
        storeMs: this.#d.clock.now() - takenAt,
        inShard: inserted.inShard,
        fanned: inserted.fanned.length,
      },
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
    metrics.cancels.inc({ source: 'kafka', outcome: 'applied' }, inserted.cancels)
    metrics.cancels.inc({ source: 'kafka', outcome: 'restaurant_mismatch' }, inserted.cancelsMismatched)
    if (inserted.cancels > 0) this.#d.log.info({ cancels: inserted.cancels }, 'campaign cancels stored')
    // Stored by the shard's own writer, which fanned them out in the same transaction: no wake.
    // Fanned out by the store's own transaction: its writer was told what is left (joint.done).
    if (!inserted.inShard && inserted.rows.length + inserted.rejected > 0) {
      const work = shardWork(events, rejects)
      for (const shard of inserted.fanned) {
        const w = work.get(shard)
        if (w) w.fanning = false
      }
      this.#d.onStored(work)
    }
    if (rejects.length > 0)
      this.#d.log.info({ rejected: rejects.length, codes: [...new Set(rejects.map(r => r.rejection.code))] }, 'input rejected to DLQ')
  }
}
