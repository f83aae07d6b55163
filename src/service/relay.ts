import type pg from 'pg'
import type { Config } from '../config/settings.ts'
import { isRetryable, OfferstreamError } from '../errors.ts'
import type { OutputProducer } from '../kafka/output-producer.ts'
import type { RelayCursor } from '../kafka/relay-cursor.ts'
import { translatePgError } from '../pg/pg-errors.ts'
import { backoffDelay, pause } from './backoff.ts'
import type { Logger } from './logger.ts'
import type { Metrics } from './metrics.ts'
import { isEmpty, readRelayBatch, type RelayBatch } from './relay-batch.ts'

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
  #prefetch: { from: RelayCursor; batch: Promise<RelayBatch> } | undefined
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
    this.#d.log.warn(
      { code: e.code, err: e.message, retryInMs: delay, attempt },
      'relay failed; rebuilding the producer from committed state',
    )
    // Whatever was in flight is abandoned: the next incarnation aborts it and re-reads the cursor.
    await this.#producer?.close()
    this.#producer = undefined
    this.#cursor = undefined
    this.#prefetch = undefined
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
    const cursor = this.#cursor
    try {
      const batch = await this.#takeBatch(cursor)
      if (isEmpty(batch)) return false
      // Read the next batch while this one's transaction is in flight: a full transaction spends
      // ~5x longer in Kafka round trips than in reading PostgreSQL, and the two no longer add up.
      // Only the read overlaps; transactions stay strictly one after another, each with its cursor.
      if (batch.messages.length >= config.relayBatch) this.#startPrefetch(batch.to)
      const endTimer = metrics.relayTxSeconds.startTimer()
      await this.#producer.publish(batch.messages, batch.to)
      endTimer()
      this.#cursor = batch.to
      metrics.pushesPublished.inc(batch.pushed)
      metrics.dlqPublished.inc(batch.messages.length - batch.pushed)
      return true
    } catch (error) {
      // Kafka errors arrive translated from the producer; anything else came from a PostgreSQL read.
      throw error instanceof OfferstreamError ? error : translatePgError(error)
    }
  }

  #startPrefetch(from: RelayCursor): void {
    this.#wakeRequested = false
    const batch = readRelayBatch(this.#d.pool, this.#d.config, from)
    batch.catch(() => {}) // a failed prefetch is simply not used; the next read reports the error
    this.#prefetch = { from, batch }
  }

  /** The prefetched batch if it starts at the cursor and nothing was committed since it was read. */
  async #takeBatch(cursor: RelayCursor): Promise<RelayBatch> {
    const pre = this.#prefetch
    this.#prefetch = undefined
    if (pre && pre.from.push === cursor.push && pre.from.dlq === cursor.dlq) {
      const batch = await pre.batch.catch(() => undefined)
      // A partial batch read before the writer's latest commit would publish less than is there.
      if (batch && (batch.messages.length >= this.#d.config.relayBatch || !this.#wakeRequested)) return batch
    }
    this.#wakeRequested = false
    return readRelayBatch(this.#d.pool, this.#d.config, cursor)
  }
}
