import type { Config } from '../config/settings.ts'
import { isRetryable, type OfferstreamError } from '../errors.ts'
import { startHttp } from '../http/server.ts'
import { ensureTopics } from '../kafka/ensure-topics.ts'
import { InputSource } from '../kafka/input-source.ts'
import { OutputProducer } from '../kafka/output-producer.ts'
import { migrate } from '../pg/migrate.ts'
import { createPool } from '../pg/pool.ts'
import { backoffDelay, pause } from './backoff.ts'
import type { Logger } from './logger.ts'
import { startFeedbackIntake } from './feedback-intake.ts'
import { createMetrics, type Metrics } from './metrics.ts'
import { Relay } from './relay.ts'
import { Writer } from './writer.ts'

export interface Service {
  metrics: Metrics
  httpPort: number | undefined
  /** Resolves when the service stopped; rejects if it died of a non-retryable error. */
  done: Promise<void>
  /** Idempotent: finish the in-flight step, publish what is committed, close everything. */
  stop(): Promise<void>
}

async function withRetry<T>(what: string, config: Config, log: Logger, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn()
    } catch (error) {
      if (!isRetryable(error) || signal.aborted) throw error
      const delay = backoffDelay(attempt, config.retryMaxDelayMs)
      log.warn({ code: (error as OfferstreamError).code, err: (error as Error).message, retryInMs: delay }, `${what} failed; retrying`)
      await pause(delay, signal)
    }
  }
}

/** Wires the adapters together and starts the writer and relay loops. */
export async function startService(config: Config, log: Logger): Promise<Service> {
  const startup = new AbortController()
  const metrics = createMetrics()
  const pool = createPool(config.databaseUrl)
  let writer: Writer | undefined
  let relay: Relay | undefined
  let http: { port: number; close: () => Promise<void> } | undefined
  try {
    const applied = await withRetry('migration', config, log, startup.signal, () => migrate(pool))
    if (applied.length) log.info({ applied }, 'migrations applied')
    const created = await withRetry('topic setup', config, log, startup.signal, () => ensureTopics(config))
    if (created.length) log.info({ created }, 'topics created')
    relay = new Relay({ pool, config, log, metrics, createProducer: () => new OutputProducer(config) })
    const r = relay
    writer = new Writer({
      pool,
      config,
      log,
      metrics,
      onWritten: () => r.wake(),
      createSource: async () => {
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
      http = await startHttp(config.httpHost, config.httpPort, metrics.registry, {
        // Unhealthy while a dependency is failing; the loops keep retrying, so it recovers by itself.
        health: () => ({ ok: !wr.lastError && !r.lastError, detail: { writer: wr.lastError ?? 'ok', relay: r.lastError ?? 'ok' } }),
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
  const feedback = startFeedbackIntake({ pool, config, log, metrics, onRejected: () => r.wake() })
  let stopping: Promise<void> | undefined
  const stop = () => {
    stopping ??= (async () => {
      startup.abort()
      w.stop()
      await writerDone.catch(() => {})
      await feedback.stop()
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
  const done = Promise.all([writerDone, relayDone, feedback.done]).then(
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
