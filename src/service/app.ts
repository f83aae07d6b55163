import type { Config } from '../config/settings.ts'
import type { OfferstreamError } from '../errors.ts'
import { startHttp } from '../http/server.ts'
import { ensureTopics } from '../kafka/ensure-topics.ts'
import { InputSource } from '../kafka/input-source.ts'
import { OutputProducer } from '../kafka/output-producer.ts'
import { createMetrics, type Metrics } from '../metrics/metrics.ts'
import { migrate } from '../pg/migrate.ts'
import { createPool } from '../pg/pool.ts'
import { PgRelayStore } from '../pg/relay-store.ts'
import { PgWriterStore } from '../pg/writer-store.ts'
import { systemClock } from './clock.ts'
import { type FeedbackIntake, startFeedbackIntake } from './feedback-intake.ts'
import type { Logger } from './logger.ts'
import { Relay } from './relay.ts'
import { retry } from './retry.ts'
import { Writer } from './writer.ts'

export interface Service {
  metrics: Metrics
  httpPort: number | undefined
  /** Resolves when the service stopped; rejects if it died of a non-retryable error. */
  done: Promise<void>
  /** Idempotent: finish the in-flight step, publish what is committed, close everything. */
  stop(): Promise<void>
}

/** Wires the adapters together and starts the writer and relay loops. */
export async function startService(config: Config, log: Logger): Promise<Service> {
  const startup = new AbortController()
  const clock = systemClock
  const metrics = createMetrics()
  const withRetry = <T>(what: string, fn: () => Promise<T>) =>
    retry(fn, {
      clock,
      maxDelayMs: config.retryMaxDelayMs,
      signal: startup.signal,
      onRetry: (e, _attempt, delay) => log.warn({ code: e.code, err: e.message, retryInMs: delay }, `${what} failed; retrying`),
    })
  const pool = createPool(config.databaseUrl)
  let writer: Writer | undefined
  let relay: Relay | undefined
  let http: { port: number; close: () => Promise<void> } | undefined
  let feedback: FeedbackIntake | undefined
  try {
    const applied = await withRetry('migration', () => migrate(pool))
    if (applied.length) log.info({ applied }, 'migrations applied')
    const created = await withRetry('topic setup', () => ensureTopics(config))
    if (created.length) log.info({ created }, 'topics created')
    relay = new Relay({ store: new PgRelayStore(pool), config, log, metrics, clock, createOutput: () => new OutputProducer(config) })
    const r = relay
    writer = new Writer({
      store: new PgWriterStore(pool),
      config,
      log,
      metrics,
      clock,
      onWritten: () => r.wake(),
      createInput: async () => {
        const source = new InputSource(config)
        await source.start().catch(async error => {
          await source.close()
          throw error
        })
        return source
      },
    })
    if (config.httpEnabled) {
      const wr = writer
      http = await startHttp(config.httpHost, config.httpPort, {
        databaseUrl: config.databaseUrl,
        metrics,
        apiToken: config.apiToken,
        // Unhealthy while a dependency is failing; the loops keep retrying, so it recovers by itself.
        health: () => ({
          ok: !wr.lastError && !r.lastError && !feedback?.lastError,
          detail: { writer: wr.lastError ?? 'ok', relay: r.lastError ?? 'ok', feedback: feedback?.lastError ?? 'ok' },
        }),
      })
    }
  } catch (error) {
    await pool.end().catch(() => {})
    throw error
  }
  const w = writer
  const r = relay
  const writerDone = w.run()
  const relayDone = r.run()
  feedback = startFeedbackIntake({ pool, config, log, metrics, onRejected: () => r.wake() })
  const fb = feedback
  let stopping: Promise<void> | undefined
  const stop = () => {
    stopping ??= (async () => {
      startup.abort()
      w.stop()
      await writerDone.catch(() => {})
      await fb.stop()
      // Everything the writer committed is published before exit, within the shutdown budget.
      const timeout = new Promise<'timeout'>(resolve => setTimeout(resolve, config.shutdownTimeoutMs, 'timeout').unref())
      const drained = await Promise.race([r.drain().then(() => 'drained' as const), timeout]).catch(error => {
        log.warn({ err: (error as Error).message }, 'relay drain failed; the rest is published after restart')
        return 'failed' as const
      })
      if (drained === 'timeout') log.warn('shutdown budget spent before the relay caught up; the rest is published after restart')
      await r.close()
      await relayDone.catch(() => {})
      await http?.close()
      await pool.end().catch(() => {})
      log.info('stopped')
    })()
    return stopping
  }
  const done = Promise.all([writerDone, relayDone, fb.done]).then(
    () => undefined,
    async error => {
      log.error({ err: (error as Error).message, code: (error as OfferstreamError).code }, 'service failed')
      await stop()
      throw error
    },
  )
  log.info({ input: config.inputTopic, output: config.outputTopic, dlq: config.dlqTopic, httpPort: http?.port }, 'offerstream running')
  return { metrics, httpPort: http?.port, done, stop }
}
