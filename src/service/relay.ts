import type { Config } from '../config/settings.ts'
import type { RelayCursor } from '../kafka/relay-cursor.ts'
import type { Metrics } from '../metrics/metrics.ts'
import type { Logger } from './logger.ts'
import { Loop, type Stoppable } from './loop.ts'
import type { Clock, Output, RelayStore } from './ports.ts'
import { isEmpty, type RelayBatch, readRelayBatch } from './relay-batch.ts'

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
  /** After each read or transaction: pushes just committed, and whether the read took all there was. */
  onPublished?: (pushed: number, drained: boolean) => void
}

// How often the relay looks for work when nobody woke it (another instance's writes, missed wake).
const IDLE_POLL_MS = 1000
// Failures a drain (stop with a drain signal) rides out before it gives up and leaves the rest to the next start.
const DRAIN_RETRIES = 4

/**
 * Copies committed fan-out rows and rejects from PostgreSQL to Kafka. Each Kafka transaction carries
 * the messages and the cursor past them, so after any crash the new incarnation resumes exactly
 * where the last committed transaction ended: nothing twice, nothing skipped.
 */
export class Relay implements Stoppable {
  #d: RelayDeps
  #loop: Loop
  #output: Output | undefined
  #cursor: RelayCursor | undefined
  #stopped: Promise<void> | undefined
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

  constructor(deps: RelayDeps) {
    this.#d = deps
    this.#loop = new Loop({
      component: 'relay',
      // After a batch that took everything committed, only a wake brings more: going idle saves a
      // read per transaction (the idle wait returns at once if a wake came meanwhile).
      step: async () => ((await this.#publishOnce()) === 'more' ? undefined : IDLE_POLL_MS),
      clock: deps.clock,
      log: deps.log,
      metrics: deps.metrics,
      retryMaxDelayMs: deps.config.retryMaxDelayMs,
      retryMessage: 'relay failed; rebuilding the producer from committed state',
      onRetry: async () => {
        // Whatever was in flight is abandoned: the next incarnation aborts it and re-reads the cursor.
        await this.#output?.close()
        this.#output = undefined
        this.#cursor = undefined
        this.#prefetch = undefined
        this.#rejectsDue = true
      },
      // Nobody woke us: look at everything, in case a notification was missed.
      afterIdle: woken => {
        if (!woken) this.#rejectsDue = true
      },
    })
  }

  /** Message of the last failure, cleared by the next successful pass; read by /healthz. */
  get lastError(): string | undefined {
    return this.#loop.lastError
  }

  /** Tells the relay there are new committed rows; rejects: whether they may include rejects. */
  wake(rejects = true): void {
    if (rejects) {
      this.#rejectsDue = true
      this.#rejectWakes++
    }
    this.#wokenAt ??= this.#d.clock.now()
    this.#loop.wake()
  }

  /** Publishes until stopped; rejects on a non-retryable failure (SHARD_LOST when fenced by the shard's new owner). */
  run(): Promise<void> {
    return this.#loop.run()
  }

  /**
   * Stops and closes the producer. Without `drain` the transaction in flight is cut short (the
   * shard's next owner publishes it); with it, once that transaction is done (one at a time),
   * everything already committed is published until the signal aborts.
   */
  stop(drain?: AbortSignal): Promise<void> {
    this.#stopped ??= (async () => {
      this.wake()
      const stopped = this.#loop.stop()
      if (!drain) await this.#closeOutput()
      await stopped
      if (drain) await this.#drain(drain)
      // Also a producer that the step in flight created after the first close.
      await this.#closeOutput()
    })()
    return this.#stopped
  }

  async #closeOutput(): Promise<void> {
    const output = this.#output
    this.#output = undefined
    await output?.close()
  }

  /** Takes over from the stopped loop, failure and all; what it leaves is published by the shard's next owner. */
  async #drain(deadline: AbortSignal): Promise<void> {
    const { log } = this.#d
    const drained = (async () => {
      while (!deadline.aborted && (await this.#loop.retry(() => this.#publishOnce(), deadline, DRAIN_RETRIES)) !== 'empty') {}
    })()
    const spent = new Promise<'timeout'>(resolve => {
      if (deadline.aborted) resolve('timeout')
      deadline.addEventListener('abort', () => resolve('timeout'), { once: true })
    })
    const outcome = await Promise.race([
      drained.then(
        () => 'drained' as const,
        error => {
          // After the deadline the producer is closed under the drain: that failure is the timeout's.
          if (!deadline.aborted) log.warn({ err: (error as Error).message }, 'relay drain failed; the rest is published by the next owner')
          return 'failed' as const
        },
      ),
      spent,
    ])
    if (outcome === 'timeout') log.warn('shutdown budget spent before the relay caught up; the next owner publishes the rest')
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
      this.#d.log.info({ cursor: this.#cursor, transactionsV2: this.#output.transactionsV2 }, 'relay resumed from committed cursor')
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
      this.#d.onPublished?.(0, true)
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
        // Campaigns this transaction finished, and the longest of them from due to now.
        finished: batch.rangesDone.length,
        dueToDoneMs: batch.rangesDone.length ? doneAt - Math.min(...batch.rangesDone) : null,
      },
      'relay transaction committed',
    )
    this.#cursor = batch.to
    if (rejectsTaken) this.#rejectsDue = false
    metrics.pushesPublished.inc(batch.pushed)
    for (const due of batch.rangesDone) metrics.campaignLatency.observe(Math.max(0, doneAt - due) / 1000)
    this.#d.onPublished?.(batch.pushed, batch.drained)
    metrics.dlqPublished.inc(batch.messages.length - batch.pushed)
    return batch.drained ? 'drained' : 'more'
  }

  #startPrefetch(from: RelayCursor): void {
    this.#loop.look()
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
      const full = this.#d.config.relayBatch
      if (batch && (batch.messages.length >= full || !this.#loop.woken)) return batch
      // Woken since the read: rows may have been committed behind it, so it is not "drained". Half
      // full or more, it is still published as read (a prefix of the shard's rows is always a valid
      // batch): rebuilding its messages cost more CPU than one more, smaller transaction (with 3
      // instances at 0.15 core, 9 prefetches of 2,400-4,900 pushes were thrown away per 400,000).
      if (batch && batch.messages.length * 2 >= full) return { ...batch, drained: false }
    }
    this.#loop.look()
    return readRelayBatch(this.#d.store, this.#d.config, cursor, withRejects)
  }
}
