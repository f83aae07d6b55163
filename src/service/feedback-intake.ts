import type pg from 'pg'
import type { Config } from '../config/settings.ts'
import { decodeFeedback, type Feedback } from '../core/feedback.ts'
import { RejectCodes } from '../core/reject-reason.ts'
import { rejectShard } from '../core/shard.ts'
import { type InputRecord, InputSource } from '../kafka/input-source.ts'
import type { Metrics } from '../metrics/metrics.ts'
import type { RejectRow } from '../pg/sql/insert-rejects.ts'
import { recordFeedback } from '../pg/sql/record-feedback.ts'
import { storeRejects } from '../pg/store-rejects.ts'
import { withTransaction } from '../pg/transaction.ts'
import { systemClock } from './clock.ts'
import type { Logger } from './logger.ts'
import { retry } from './retry.ts'

interface FeedbackIntakeDeps {
  pool: pg.Pool
  config: Config
  log: Logger
  metrics: Metrics
  /** Called after a commit that stored rejects, which the relay copies to the feedback DLQ. */
  onRejected: () => void
}

export interface FeedbackIntake {
  /** Resolves when stopped; rejects on a non-retryable failure. */
  done: Promise<void>
  /** Message of the last failed step, cleared by the next successful one. */
  readonly lastError: string | undefined
  /** Finishes the batch in progress and stops; the uncommitted input is redelivered later. */
  stop(): Promise<void>
}

/** The input consumer's settings, pointed at the feedback topic with a group of its own. */
function feedbackSourceConfig(config: Config): Config {
  return { ...config, inputTopic: config.feedbackTopic, groupId: `${config.groupId}-feedback` }
}

/**
 * Stores one batch of push_feedback records in one PostgreSQL transaction: valid feedback through
 * recordFeedback (a redelivered event is a no-op by its key), malformed records and feedback for a
 * push that was never sent as rejects (a redelivered record is a no-op by its position). Shard
 * locks are taken only when there are rejects: their ids must become visible in id order for the
 * relay's cursor, and feedback rows alone never hold up the fan-out. They are taken after the stage
 * updates' row locks; that cannot deadlock as long as no holder of a shard lock updates or
 * deletes existing pushes (the fan-out only inserts). If one ever does, PostgreSQL breaks the
 * cycle with a retryable error and the batch is redelivered.
 */
async function storeFeedbackBatch(pool: pg.Pool, shards: number, batch: InputRecord[]) {
  const good: Array<{ record: InputRecord; feedback: Feedback }> = []
  const rejects: RejectRow[] = []
  const reject = (r: InputRecord, code: RejectRow['rejection']['code'], reason: string) =>
    rejects.push({
      topic: r.topic,
      partition: r.partition,
      offset: r.offset.toString(),
      key: r.key,
      value: r.value,
      rejection: { code, reason },
      shard: rejectShard(r.partition, shards),
    })
  for (const record of batch) {
    const d = decodeFeedback(record.value)
    if (d.ok) good.push({ record, feedback: d.feedback })
    else reject(record, d.rejection.code, d.rejection.reason)
  }
  return withTransaction(pool, async client => {
    const results = await recordFeedback(
      client,
      good.map(g => g.feedback),
      'kafka',
    )
    const outcomes = new Map<string, number>()
    results.forEach((r, i) => {
      outcomes.set(r.outcome, (outcomes.get(r.outcome) ?? 0) + 1)
      const g = good[i]
      if (r.outcome === 'unknown_push' && g) reject(g.record, RejectCodes.UNKNOWN_PUSH, r.reason ?? 'no such push')
    })
    if (good.length < batch.length) outcomes.set('invalid', batch.length - good.length)
    return { outcomes, rejected: await storeRejects(client, rejects) }
  })
}

/** Consumes push_feedback until stopped; input offsets are committed only after the batch's transaction. */
export function startFeedbackIntake(d: FeedbackIntakeDeps): FeedbackIntake {
  const abort = new AbortController()
  let stopping = false
  let source: InputSource | undefined
  let lastError: string | undefined

  const drop = async () => {
    const s = source
    source = undefined
    await s?.close()
  }
  const step = async (s: InputSource) => {
    const batch = await s.take(d.config.ingestBatch, 1000)
    if (batch.length === 0) return
    const { outcomes, rejected } = await storeFeedbackBatch(d.pool, d.config.shards, batch)
    for (const [outcome, n] of outcomes) d.metrics.feedback.inc({ source: 'kafka', outcome }, n)
    if (rejected > 0) d.onRejected()
    // Harmless when it fails: the redelivered records are recognised and skipped.
    await s
      .commit(batch)
      .catch(error => d.log.warn({ err: (error as Error).message }, 'feedback offset commit failed; records may be redelivered'))
  }
  const run = async () => {
    try {
      while (!stopping) {
        await retry(
          async () => {
            if (!source) {
              const s = new InputSource(feedbackSourceConfig(d.config))
              await s.start().catch(async error => {
                await s.close()
                throw error
              })
              source = s
            }
            await step(source)
          },
          {
            clock: systemClock,
            maxDelayMs: d.config.retryMaxDelayMs,
            signal: abort.signal,
            onRetry: async (e, attempt, delay) => {
              lastError = `${e.code}: ${e.message}`
              d.metrics.retries.inc({ component: 'feedback', code: e.code })
              d.log.warn({ code: e.code, err: e.message, retryInMs: delay, attempt }, 'feedback intake failed; retrying')
              // Records taken but not stored come again from the committed offsets.
              await drop()
            },
          },
        )
        lastError = undefined
      }
    } catch (error) {
      // Stopping cuts a retry short; the failed batch is redelivered later.
      if (!stopping) throw error
    } finally {
      await drop()
    }
  }
  const done = run()
  return {
    done,
    get lastError() {
      return lastError
    },
    async stop() {
      stopping = true
      abort.abort()
      source?.interrupt()
      await done.catch(() => {})
    },
  }
}
