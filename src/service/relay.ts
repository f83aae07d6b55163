import type { Config } from '../config/settings.ts'
import type { OfferstreamError } from '../errors.ts'
import type { RelayCursor } from '../kafka/relay-cursor.ts'
import type { Metrics } from '../metrics/metrics.ts'
import { WOKEN } from './clock.ts'
import type { Logger } from './logger.ts'
import type { Clock, Output, RelayStore } from './ports.ts'
import { isEmpty, type RelayBatch, readRelayBatch } from './relay-batch.ts'
import { retry } from './retry.ts'

export interface RelayDeps {
  store: RelayStore
  config: Pick<Config, 'relayBatch' | 'outputTopic' | 'dlqTopic' | 'feedbackTopic' | 'feedbackDlqTopic' | 'retryMaxDelayMs'>
  log: Logger
  metrics: Metrics
  clock: Clock
  createOutput: () => Output
  /** Throws SHARD_LOST when the shard is no longer this instance's: checked before each (re)initialisation of the producer. */
  checkOwner?: () => Promise<void>
  /**
   * Throws PG_REGRESSION when PostgreSQL holds less than the committed cursor says was published (a
   * failover that lost transactions): checked after each (re)opening, before anything past the cursor is published.
   */
  checkCursor?: (cursor: RelayCursor) => Promise<void>
}

// How often the relay looks for work when nobody woke it (another instance's writes, missed wake).
const IDLE_POLL_MS = 1000
// Failures drain() rides out before it gives up and leaves the rest to the next start.
const DRAIN_RETRIES = 4

/**
 * Copies committed fan-out rows and rejects from PostgreSQL to Kafka. Each Kafka transaction carries
 * the messages and the cursor past them, so after any crash the new incarnation resumes exactly
 * where the last committed transaction ended: nothing twice, nothing skipped.
 */
export class Relay {
  #d: RelayDeps
  #output: Output | undefined
  #cursor: RelayCursor | undefined
  #stopping = false
  #wakeRequested = false
  #idleWait: AbortController | undefined
  #stop = new AbortController()
  #closed = new AbortController()
  #running: Promise<void> | undefined
  #prefetch: { from: RelayCursor; withRejects: boolean; batch: Promise<RelayBatch> } | undefined
  /**
   * Whether a reject may have been stored since the last read that took them all. Fan-out commits
   * (most wakes) store none, so a read skips the rejects query unless a wake said otherwise, or an
   * idle poll (another instance's notification may have been missed) or a failure came since.
   */
  #rejectsDue = true
  #rejectWakes = 0
  /** When the first wake since the last transaction arrived: the debug log's latency breakdown. */
  #wokenAt: number | undefined
  /** Message of the last failure, cleared by the next successful pass; read by /healthz. */
  lastError: string | undefined

  constructor(deps: RelayDeps) {
    this.#d = deps
  }

  /** Tells the relay there are new committed rows; rejects: whether they may include rejects. */
  wake(rejects = true): void {
    if (rejects) {
      this.#rejectsDue = true
      this.#rejectWakes++
    }
    this.#wokenAt ??= this.#d.clock.now()
    this.#wakeRequested = true
    this.#idleWait?.abort(WOKEN)
    this.#idleWait = undefined
  }

  run(): Promise<void> {
    this.#running ??= this.#loop()
    return this.#running
  }

  async #loop(): Promise<void> {
    try {
      while (!this.#stopping) {
        const result = await retry(() => this.#publishOnce(), this.#retryOptions(this.#stop.signal))
        this.lastError = undefined
        // After a batch that took everything committed, only a wake brings more: going idle saves a
        // read per transaction (the idle wait returns at once if a wake came meanwhile).
        if (result !== 'more') await this.#idle()
      }
    } catch (error) {
      // drain() takes over from a stopped loop, failure and all.
      if (!this.#stopping) throw error
    }
  }

  /** Publishes everything already committed, then stops. Bounded by the caller's timeout. */
  async drain(): Promise<void> {
    this.#stopping = true
    this.#stop.abort()
    this.wake()
    // The loop finishes the transaction it has in flight first: one transaction at a time.
    await this.#running?.catch(() => {})
    const options = { ...this.#retryOptions(this.#closed.signal), retries: DRAIN_RETRIES }
    while (!this.#closed.signal.aborted && (await retry(() => this.#publishOnce(), options)) !== 'empty') {}
  }

  async close(): Promise<void> {
    this.#stopping = true
    this.#stop.abort()
    this.#closed.abort()
    this.wake()
    await this.#output?.close()
    this.#output = undefined
  }

  #retryOptions(signal: AbortSignal) {
    const { clock, config, log, metrics } = this.#d
    return {
      clock,
      maxDelayMs: config.retryMaxDelayMs,
      signal,
      onRetry: async (e: OfferstreamError, attempt: number, delay: number) => {
        this.lastError = `${e.code}: ${e.message}`
        metrics.retries.inc({ component: 'relay', code: e.code })
        log.warn({ code: e.code, err: e.message, retryInMs: delay, attempt }, 'relay failed; rebuilding the producer from committed state')
        // Whatever was in flight is abandoned: the next incarnation aborts it and re-reads the cursor.
        await this.#output?.close()
        this.#output = undefined
        this.#cursor = undefined
        this.#prefetch = undefined
        this.#rejectsDue = true
      },
    }
  }

  async #idle(): Promise<void> {
    if (this.#wakeRequested) {
      this.#wakeRequested = false
      return
    }
    this.#idleWait = new AbortController()
    await this.#d.clock.sleep(IDLE_POLL_MS, this.#idleWait.signal)
    this.#idleWait = undefined
    // Nobody woke us: look at everything, in case a notification was missed.
    if (!this.#wakeRequested) this.#rejectsDue = true
    this.#wakeRequested = false
  }

  /** One output transaction's worth of work: 'empty' when there was nothing to publish, 'drained' when it published all there was. */
  async #publishOnce(): Promise<'empty' | 'drained' | 'more'> {
    const { config, metrics } = this.#d
    if (!this.#output || !this.#cursor) {
      // Initialising the producer fences whoever holds the transactional id: after being fenced
      // ourselves, that must not be the shard's new owner.
      await this.#d.checkOwner?.()
      this.#output = this.#d.createOutput()
      const cursor = await this.#output.open()
      if (!this.#output.inherited) await this.#d.checkCursor?.(cursor)
      this.#cursor = cursor
      this.#d.log.info({ cursor: this.#cursor }, 'relay resumed from committed cursor')
    }
    const { clock, log } = this.#d
    const wokenAt = this.#wokenAt
    this.#wokenAt = undefined
    const readAt = clock.now()
    const withRejects = this.#rejectsDue
    const rejectWakes = this.#rejectWakes
    const batch = await this.#takeBatch(this.#cursor, withRejects)
    // Every reject committed before the read is in this batch, and no wake has named new ones since.
    const rejectsTaken = withRejects && batch.drained && this.#rejectWakes === rejectWakes
    if (isEmpty(batch)) {
      if (rejectsTaken) this.#rejectsDue = false
      return 'empty'
    }
    const publishAt = clock.now()
    // Read the next batch while this one's transaction is in flight: a full transaction spends
    // ~5x longer in Kafka round trips than in reading PostgreSQL, and the two no longer add up.
    // Only the read overlaps; transactions stay strictly one after another, each with its cursor.
    if (batch.messages.length >= config.relayBatch) this.#startPrefetch(batch.to)
    const endTimer = metrics.relayTxSeconds.startTimer()
    await this.#output.publish(batch.messages, batch.to, batch.events)
    endTimer()
    const doneAt = clock.now()
    log.debug(
      {
        messages: batch.messages.length,
        wakeToReadMs: wokenAt === undefined ? null : readAt - wokenAt,
        readMs: publishAt - readAt,
        txMs: doneAt - publishAt,
      },
      'relay transaction committed',
    )
    this.#cursor = batch.to
    if (rejectsTaken) this.#rejectsDue = false
    metrics.pushesPublished.inc(batch.pushed)
    metrics.dlqPublished.inc(batch.messages.length - batch.pushed)
    return batch.drained ? 'drained' : 'more'
  }

  #startPrefetch(from: RelayCursor): void {
    this.#wakeRequested = false
    const withRejects = this.#rejectsDue
    const batch = readRelayBatch(this.#d.store, this.#d.config, from, withRejects)
    batch.catch(() => {}) // a failed prefetch is simply not used; the next read reports the error
    this.#prefetch = { from, withRejects, batch }
  }

  /** The prefetched batch if it starts at the cursor and nothing was committed since it was read. */
  async #takeBatch(cursor: RelayCursor, withRejects: boolean): Promise<RelayBatch> {
    const pre = this.#prefetch
    this.#prefetch = undefined
    if (pre && pre.from.push === cursor.push && pre.from.dlq === cursor.dlq && (pre.withRejects || !withRejects)) {
      const batch = await pre.batch.catch(() => undefined)
      // A partial batch read before the writer's latest commit would publish less than is there.
      if (batch && (batch.messages.length >= this.#d.config.relayBatch || !this.#wakeRequested)) return batch
    }
    this.#wakeRequested = false
    return readRelayBatch(this.#d.store, this.#d.config, cursor, withRejects)
  }
}
