import type { OfferstreamError } from '../errors.ts'
import type { Metrics } from '../metrics/metrics.ts'
import { WOKEN } from './clock.ts'
import type { Logger } from './logger.ts'
import type { Clock } from './ports.ts'
import { retry } from './retry.ts'

/**
 * The contract every long-running part of the service keeps (writer, relay, ingester, feedback
 * intake, shard manager), so that app.ts stops them all the same way.
 */
export interface Stoppable {
  /**
   * Ends the work and resolves once it has ended and what it holds is closed; idempotent, never
   * rejects (a failure is reported by the part's run()). Waits, idle or backoff, end at once; the
   * step in flight finishes, or is cut short where nothing is lost by it (a pending take, a relay
   * transaction the shard's next owner redoes). `drain`: a part that holds committed work still to
   * hand on (the relay's rows not yet in Kafka) first publishes it, until the signal aborts. The
   * others have nothing to drain: what they had not committed is redone or redelivered.
   */
  stop(drain?: AbortSignal): Promise<void>
}

export interface LoopOptions {
  /** The `component` label of offerstream_retries_total. */
  component: 'writer' | 'relay' | 'ingest' | 'feedback'
  /** One step of work. It may return how long to wait idle afterwards unless woken; undefined: go on at once. */
  step: () => Promise<number | undefined>
  clock: Clock
  log: Logger
  metrics: Pick<Metrics, 'retries'>
  retryMaxDelayMs: number
  /** Logged (warn) before each retry, with the error's code and message, the attempt and the delay. */
  retryMessage: string
  /** Runs before each backoff, after lastError is set: drop the clients that must be rebuilt. */
  onRetry?: (error: OfferstreamError) => void | Promise<void>
  /** After each idle wait that stop() did not cut short: woken is false when it ran to its end (nobody woke the loop). */
  afterIdle?: (woken: boolean) => void
  /** Runs once when the loop ends, however it ends: close what the steps opened. */
  finish?: () => Promise<void>
}

/**
 * A loop that runs a step until stopped: each step through the retry helper (exponential backoff,
 * retryable errors only), lastError set by a failure and cleared by the next success, an idle wait
 * that a wake ends, and a stop that cuts a backoff or an idle wait short but lets the step in
 * flight finish. A non-retryable failure ends run() with that error, unless the loop is stopping.
 */
export class Loop {
  #o: LoopOptions
  #stopping = false
  #stop = new AbortController()
  /** Whether a wake came since the last look(); the only place that clears it is look(). */
  #woken = false
  #idleWait: AbortController | undefined
  #running: Promise<void> | undefined
  /** How long the current idle wait lasts unless woken; undefined while working. */
  idleMs: number | undefined
  /** `code: message` of the last failed step, cleared by the next successful one; read by /healthz. */
  lastError: string | undefined

  constructor(options: LoopOptions) {
    this.#o = options
  }

  get stopping(): boolean {
    return this.#stopping
  }

  /** Aborted by stop(). */
  get signal(): AbortSignal {
    return this.#stop.signal
  }

  /** Whether a wake came since the last look(), without clearing it. */
  get woken(): boolean {
    return this.#woken
  }

  /** Idempotent: the first call starts the loop, later ones return the same promise. */
  run(): Promise<void> {
    this.#running ??= this.#loop()
    return this.#running
  }

  /** Ends the idle wait now, or the next one before it starts. */
  wake(): void {
    this.#woken = true
    this.#idleWait?.abort(WOKEN)
  }

  /** Marks every wake so far as seen and says whether there was one: a read that starts now sees what they announced. */
  look(): boolean {
    const woken = this.#woken
    this.#woken = false
    return woken
  }

  /** Waits up to ms unless woken or stopping; at once if a wake came since the last look. True when woken. */
  async idle(ms: number): Promise<boolean> {
    if (this.look() || this.#stopping) return true
    this.#idleWait = new AbortController()
    this.idleMs = ms
    await this.#o.clock.sleep(ms, this.#idleWait.signal)
    this.idleMs = undefined
    this.#idleWait = undefined
    return this.look()
  }

  /** fn through the loop's retry policy (lastError, metric, log, onRetry), until signal aborts or the retries are spent. */
  retry<T>(fn: () => Promise<T>, signal: AbortSignal, retries?: number): Promise<T> {
    const { clock, component, log, metrics, retryMaxDelayMs, retryMessage } = this.#o
    return retry(fn, {
      clock,
      maxDelayMs: retryMaxDelayMs,
      signal,
      retries,
      onRetry: async (e, attempt, delay) => {
        this.lastError = `${e.code}: ${e.message}`
        metrics.retries.inc({ component, code: e.code })
        log.warn({ code: e.code, err: e.message, retryInMs: delay, attempt }, retryMessage)
        await this.#o.onRetry?.(e)
      },
    })
  }

  /** Finishes the step in flight, then ends run(); resolves once run() has ended. */
  async stop(): Promise<void> {
    this.#stopping = true
    this.#stop.abort()
    this.#idleWait?.abort(WOKEN)
    await this.#running?.catch(() => {})
  }

  async #loop(): Promise<void> {
    try {
      while (!this.#stopping) {
        const idleMs = await this.retry(this.#o.step, this.#stop.signal)
        this.lastError = undefined
        if (idleMs === undefined || this.#stopping) continue
        const woken = await this.idle(idleMs)
        if (!this.#stopping) this.#o.afterIdle?.(woken)
      }
    } catch (error) {
      // Stopping cuts a retry short: what the failed step had not committed is redone by the next
      // owner or redelivered.
      if (!this.#stopping) throw error
    } finally {
      await this.#o.finish?.()
    }
  }
}
