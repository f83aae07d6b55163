import type { Config } from '../config/settings.ts'
import { decodeFeedback } from '../core/feedback.ts'
import { RejectCodes } from '../core/reject-reason.ts'
import { rejectShard } from '../core/shard.ts'
import type { InputRecord } from '../kafka/input-source.ts'
import type { Metrics } from '../metrics/metrics.ts'
import type { RejectRow } from '../pg/sql/insert-rejects.ts'
import { InputLoop } from './input-loop.ts'
import type { Logger } from './logger.ts'
import type { Stoppable } from './loop.ts'
import type { OffsetCommits } from './offset-commits.ts'
import type { Clock, FeedbackItem, FeedbackStore, Input } from './ports.ts'

type FeedbackIntakeConfig = Pick<Config, 'ingestBatch' | 'inputCommitIntervalMs' | 'retryMaxDelayMs' | 'shards'>

export interface FeedbackIntakeDeps {
  store: FeedbackStore
  config: FeedbackIntakeConfig
  log: Logger
  metrics: Metrics
  clock: Clock
  /** The consumer of the feedback topic, in a group of its own. */
  createInput: () => Promise<Input>
  /** Called after a commit that stored rejects, which the relay copies to the feedback DLQ. */
  onRejected: () => void
}

/** What to store for a batch of push_feedback records: the decoded feedback, and the malformed records as rejects. */
function classifyFeedback(batch: InputRecord[], shards: number): { items: FeedbackItem[]; rejects: RejectRow[] } {
  const reject = (r: InputRecord, code: RejectRow['rejection']['code'], reason: string): RejectRow => ({
    topic: r.topic,
    partition: r.partition,
    offset: r.offset.toString(),
    key: r.key,
    value: r.value,
    rejection: { code, reason },
    shard: rejectShard(r.partition, shards),
  })
  const items: FeedbackItem[] = []
  const rejects: RejectRow[] = []
  for (const record of batch) {
    const d = decodeFeedback(record.value)
    if (d.ok) items.push({ feedback: d.feedback, unknownPush: reason => reject(record, RejectCodes.UNKNOWN_PUSH, reason) })
    else rejects.push(reject(record, d.rejection.code, d.rejection.reason))
  }
  return { items, rejects }
}

/**
 * Consumes push_feedback until stopped. Each batch is stored in one transaction (FeedbackStore);
 * input offsets are committed only after it, on the ingest stage's interval
 * (OFFERSTREAM_INPUT_COMMIT_INTERVAL_MS): a redelivered record is recognised and skipped.
 */
export class FeedbackIntake implements Stoppable {
  #d: FeedbackIntakeDeps
  #loop: InputLoop

  constructor(deps: FeedbackIntakeDeps) {
    this.#d = deps
    this.#loop = new InputLoop({
      component: 'feedback',
      clock: deps.clock,
      log: deps.log,
      metrics: deps.metrics,
      retryMaxDelayMs: deps.config.retryMaxDelayMs,
      retryMessage: 'feedback intake failed; retrying',
      commitIntervalMs: deps.config.inputCommitIntervalMs,
      createInput: deps.createInput,
      step: (input, commits) => this.#step(input, commits),
      // Records taken but not stored come again from the committed offsets.
      dropsInput: () => true,
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

  /** Finishes the batch in progress, then stops and closes the input; the uncommitted input is redelivered later. */
  stop(): Promise<void> {
    return this.#loop.stop()
  }

  async #step(input: Input, commits: OffsetCommits): Promise<void> {
    const batch = await input.take(this.#d.config.ingestBatch, commits.takeWaitMs())
    if (batch.length === 0) {
      commits.maybeCommit(input)
      return
    }
    const { items, rejects } = classifyFeedback(batch, this.#d.config.shards)
    const { results, rejected } = await this.#d.store.store(items, rejects)
    const outcomes = new Map<string, number>()
    for (const r of results) outcomes.set(r.outcome, (outcomes.get(r.outcome) ?? 0) + 1)
    if (items.length < batch.length) outcomes.set('invalid', batch.length - items.length)
    for (const [outcome, n] of outcomes) this.#d.metrics.feedback.inc({ source: 'kafka', outcome }, n)
    if (rejected > 0) this.#d.onRejected()
    commits.stored(input, batch)
  }
}
