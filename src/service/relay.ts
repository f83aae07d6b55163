import type pg from 'pg'
import type { Config } from '../config/settings.ts'
import { dlqHeaders } from '../core/dlq-headers.ts'
import { pushMessage, pushMessagePrefix, pushMessageSuffix } from '../core/push-message.ts'
import { isRetryable, OfferstreamError } from '../errors.ts'
import type { OutMessage, OutputProducer } from '../kafka/output-producer.ts'
import type { RelayCursor } from '../kafka/relay-cursor.ts'
import { translatePgError } from '../pg/pg-errors.ts'
import { feedbackClients } from '../pg/sql/feedback-clients.ts'
import { relayFanouts } from '../pg/sql/relay-fanouts.ts'
import { relayRejects } from '../pg/sql/relay-rejects.ts'
import { backoffDelay, pause } from './backoff.ts'
import type { Logger } from './logger.ts'
import type { Metrics } from './metrics.ts'

export interface RelayDeps {
  pool: pg.Pool
  config: Config
  log: Logger
  metrics: Metrics
  createProducer: () => OutputProducer
}

// How often the relay looks for work when nobody woke it (another instance's writes, missed wake).
const IDLE_POLL_MS = 1000

/**
 * Copies committed fan-out rows and rejects from PostgreSQL to Kafka. Each Kafka transaction carries
 * the messages and the cursor past them, so after any crash the new incarnation resumes exactly
 * where the last committed transaction ended: nothing twice, nothing skipped.
 */
export class Relay {
  #d: RelayDeps
  #producer: OutputProducer | undefined
  #cursor: RelayCursor | undefined
  #stopping = false
  #wakeRequested = false
  #wake: (() => void) | undefined
  #stop = new AbortController()
  /** Message of the last failure, cleared by the next successful pass; read by /healthz. */
  lastError: string | undefined

  constructor(deps: RelayDeps) {
    this.#d = deps
  }

  wake(): void {
    this.#wakeRequested = true
    const w = this.#wake
    this.#wake = undefined
    w?.()
  }

  async run(): Promise<void> {
    let attempt = 0
    while (!this.#stopping) {
      try {
        const worked = await this.publishOnce()
        attempt = 0
        this.lastError = undefined
        if (!worked) await this.#idle()
      } catch (error) {
        if (!isRetryable(error)) throw error
        await this.#recover(error as OfferstreamError, attempt++)
      }
    }
  }

  /** Publishes everything already committed, then stops. Bounded by the caller's timeout. */
  async drain(): Promise<void> {
    this.#stopping = true
    this.#stop.abort()
    this.wake()
    let attempt = 0
    for (;;) {
      try {
        if (!(await this.publishOnce())) break
      } catch (error) {
        if (!isRetryable(error) || attempt > 3) throw error
        await this.#recover(error as OfferstreamError, attempt++)
      }
    }
  }

  async close(): Promise<void> {
    this.#stopping = true
    this.#stop.abort()
    this.wake()
    await this.#producer?.close()
    this.#producer = undefined
  }

  async #recover(e: OfferstreamError, attempt: number): Promise<void> {
    this.lastError = `${e.code}: ${e.message}`
    this.#d.metrics.retries.inc({ component: 'relay', code: e.code })
    const delay = backoffDelay(attempt, this.#d.config.retryMaxDelayMs)
    this.#d.log.warn({ code: e.code, err: e.message, retryInMs: delay, attempt }, 'relay failed; rebuilding the producer from committed state')
    // Whatever was in flight is abandoned: the next incarnation aborts it and re-reads the cursor.
    await this.#producer?.close()
    this.#producer = undefined
    this.#cursor = undefined
    await pause(delay, this.#stopping ? undefined : this.#stop.signal)
  }

  async #idle(): Promise<void> {
    if (this.#wakeRequested) {
      this.#wakeRequested = false
      return
    }
    await new Promise<void>(resolve => {
      const timer = setTimeout(resolve, IDLE_POLL_MS)
      this.#wake = () => {
        clearTimeout(timer)
        resolve()
      }
    })
    this.#wakeRequested = false
  }

  /** One output transaction's worth of work. Returns false when there was nothing to publish. */
  async publishOnce(): Promise<boolean> {
    const { config, metrics } = this.#d
    if (!this.#producer || !this.#cursor) {
      this.#producer = this.#d.createProducer()
      this.#cursor = await this.#producer.open()
      this.#d.log.info({ cursor: this.#cursor }, 'relay resumed from committed cursor')
    }
    this.#wakeRequested = false
    const cursor = this.#cursor
    const messages: OutMessage[] = []
    let push = cursor.push
    let dlq = cursor.dlq
    try {
      const fanouts = await relayFanouts(this.#d.pool, push, 64)
      for (const f of fanouts) {
        if (messages.length >= config.relayBatch) break
        const prefix = pushMessagePrefix(f.campaign)
        const suffix = pushMessageSuffix(f.campaign, f.trigger)
        const want = config.relayBatch - messages.length
        const rows = await feedbackClients(this.#d.pool, f.campaign.campaignId, Math.max(push, f.firstId - 1), f.lastId, want)
        for (let i = 0; i < rows.ids.length; i++) {
          const clientId = rows.clients[i]!
          messages.push({ topic: config.outputTopic, key: clientId, value: pushMessage(prefix, clientId, suffix) })
        }
        // Fewer rows than asked means the range is exhausted (ids deleted by hand leave gaps).
        push = rows.ids.length < want ? f.lastId : rows.ids[rows.ids.length - 1]!
      }
      const pushed = messages.length
      if (messages.length < config.relayBatch) {
        const rejects = await relayRejects(this.#d.pool, dlq, config.relayBatch - messages.length)
        for (const r of rejects) {
          messages.push({ topic: config.dlqTopic, key: r.key, value: r.value, headers: dlqHeaders({ code: r.code, reason: r.reason }, r) })
          dlq = r.id
        }
      }
      if (push === cursor.push && dlq === cursor.dlq) return false
      const endTimer = metrics.relayTxSeconds.startTimer()
      await this.#producer.publish(messages, { push, dlq })
      endTimer()
      this.#cursor = { push, dlq }
      metrics.pushesPublished.inc(pushed)
      metrics.dlqPublished.inc(messages.length - pushed)
      return true
    } catch (error) {
      // Kafka errors arrive translated from the producer; anything else came from a PostgreSQL read.
      throw error instanceof OfferstreamError ? error : translatePgError(error)
    }
  }
}
