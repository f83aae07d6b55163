import { hostname } from 'node:os'
import { capsOf } from '../config/load-config.ts'
import type { Config } from '../config/settings.ts'
import type { OfferstreamError } from '../errors.ts'
import { startHttp } from '../http/server.ts'
import { ensureTopics } from '../kafka/ensure-topics.ts'
import { InputSource } from '../kafka/input-source.ts'
import { legacyCursor } from '../kafka/legacy-cursor.ts'
import { OutputProducer, shardTransactionalId } from '../kafka/output-producer.ts'
import type { RelayCursor } from '../kafka/relay-cursor.ts'
import { ShardMembership } from '../kafka/shard-membership.ts'
import { createMetrics, type Metrics } from '../metrics/metrics.ts'
import { PgIngestStore } from '../pg/ingest-store.ts'
import { migrate } from '../pg/migrate.ts'
import { createPool } from '../pg/pool.ts'
import { PgRelayStore } from '../pg/relay-store.ts'
import { listenForShardWork } from '../pg/shard-notifications.ts'
import { PgShardOwner } from '../pg/shard-owner.ts'
import { PgWriterStore } from '../pg/writer-store.ts'
import { systemClock } from './clock.ts'
import { type FeedbackIntake, startFeedbackIntake } from './feedback-intake.ts'
import { Ingester } from './ingester.ts'
import type { Logger } from './logger.ts'
import type { Clock } from './ports.ts'
import { Relay } from './relay.ts'
import { retry } from './retry.ts'
import { ShardManager } from './shard-manager.ts'
import { Turns } from './turns.ts'
import { Writer } from './writer.ts'

export interface Service {
  metrics: Metrics
  httpPort: number | undefined
  /** Resolves when the service stopped; rejects if it died of a non-retryable error. */
  done: Promise<void>
  /** Idempotent: finish the in-flight step, publish what is committed, close everything. */
  stop(): Promise<void>
}

/** Wires the adapters together: the ingest stage, the shard group membership, and a writer and relay per owned shard. */
export async function startService(config: Config, log: Logger, cancel?: AbortSignal): Promise<Service> {
  const startup = new AbortController()
  // A stop requested while starting ends the retries of the start-up steps.
  cancel?.addEventListener('abort', () => startup.abort(), { once: true })
  const clock = systemClock
  const metrics = createMetrics()
  const withRetry = <T>(what: string, fn: () => Promise<T>) =>
    retry(fn, {
      clock,
      maxDelayMs: config.retryMaxDelayMs,
      signal: startup.signal,
      onRetry: (e, _attempt, delay) => log.warn({ code: e.code, err: e.message, retryInMs: delay }, `${what} failed; retrying`),
    })
  // Shard writers and relays each hold a connection while they work; more than the 2 cores can
  // keep busy only queues inside PostgreSQL.
  const pool = createPool(config.databaseUrl, 10)
  const owner = new PgShardOwner(pool)
  const ownerId = `${config.groupInstanceId || hostname()}:${process.pid}`
  let failed: (error: Error) => void = () => {}
  const fatal = new Promise<never>((_, reject) => {
    failed = reject
  })
  fatal.catch(() => {})
  let http: { port: number; close: () => Promise<void> } | undefined
  let feedback: FeedbackIntake | undefined
  // Read once per process, and only by a shard relay that has no cursor of its own yet.
  let legacy: Promise<RelayCursor | null> | undefined
  const legacyStart = () => {
    legacy ??= legacyCursor(config)
    legacy.catch(() => {
      legacy = undefined
    })
    return legacy
  }
  const fanOutTurns = new Turns(config.fanoutConcurrency)
  const manager = new ShardManager({
    acquire: (shard, generation, force) => owner.acquire(shard, generation, ownerId, force),
    startShard: (shard, epoch) => {
      const shardLog = log.child({ shard })
      const relay = new Relay({
        store: new PgRelayStore(pool, shard),
        config,
        log: shardLog,
        metrics,
        clock,
        createOutput: () => new OutputProducer(config, shardTransactionalId(config, shard), legacyStart),
        checkOwner: () => owner.check(shard, epoch),
      })
      const writer = new Writer({
        store: new PgWriterStore(pool, shard, epoch, capsOf(config)),
        config,
        log: shardLog,
        metrics,
        clock,
        onWritten: () => relay.wake(false),
        turns: fanOutTurns,
      })
      return { writer, relay }
    },
    log,
    clock,
    retryMaxDelayMs: config.retryMaxDelayMs,
    onFatal: error => failed(error),
    onOwned: shards => metrics.shardsOwned.set(shards.length),
  })
  const ingester = new Ingester({
    store: new PgIngestStore(pool, ownerId),
    config,
    log,
    metrics,
    clock,
    onStored: shards => {
      for (const [shard, stored] of shards) manager.wake(shard, stored)
    },
    createInput: async () => {
      const source = new InputSource(config)
      await source.start().catch(async error => {
        await source.close()
        throw error
      })
      return source
    },
  })
  let membership: { close(): Promise<void> } | undefined
  let ingestDone: Promise<void> | undefined
  let listener: { close: () => Promise<void> } | undefined
  try {
    const applied = await withRetry('migration', () => migrate(pool))
    if (applied.length) log.info({ applied }, 'migrations applied')
    const setup = await withRetry('shard set-up', () => owner.setup(config.shards))
    if (setup === 'created') log.info({ shards: config.shards }, 'shards set up')
    const created = await withRetry('topic setup', () => ensureTopics(config))
    if (created.length) log.info({ created }, 'topics created')
    listener = listenForShardWork(config.databaseUrl, ownerId, (shard, work) => manager.wake(shard, work))
    // Ingest needs no shard: it joins the input group while the shard group forms (after a restart
    // both joins used to add up before the first record was stored).
    ingestDone = ingester.run()
    ingestDone.catch(() => {}) // observed by `done` below; this only keeps an early failure from being "unhandled"
    membership = await withRetry('joining the shard group', () => joinShardGroup(config, manager, log, clock, error => failed(error)))
    if (config.httpEnabled) {
      http = await startHttp(config.httpHost, config.httpPort, {
        databaseUrl: config.databaseUrl,
        metrics,
        apiToken: config.apiToken,
        // Unhealthy while a dependency is failing; the loops keep retrying, so it recovers by itself.
        health: () => {
          const shards = manager.health()
          return {
            ok: !ingester.lastError && !feedback?.lastError && shards.failing.length === 0,
            detail: {
              ingest: ingester.lastError ?? 'ok',
              shards: shards.failing.length ? shards.failing.join('; ') : 'ok',
              feedback: feedback?.lastError ?? 'ok',
            },
          }
        },
      })
    }
  } catch (error) {
    ingester.stop()
    await ingestDone?.catch(() => {})
    await membership?.close()
    await listener?.close()
    await manager.stop(0)
    await pool.end().catch(() => {})
    throw error
  }
  const ingest = ingestDone!
  feedback = startFeedbackIntake({ pool, config, log, metrics, onRejected: () => manager.wakeRelays() })
  const fb = feedback
  let stopping: Promise<void> | undefined
  const stop = () => {
    stopping ??= (async () => {
      startup.abort()
      ingester.stop()
      await ingest.catch(() => {})
      await fb.stop()
      // Everything the shard writers committed is published before exit, within the shutdown budget.
      await manager.stop(config.shutdownTimeoutMs)
      await membership?.close()
      await listener?.close()
      await http?.close()
      await pool.end().catch(() => {})
      log.info('stopped')
    })()
    return stopping
  }
  const done = Promise.race([Promise.all([ingest, fb.done]), fatal]).then(
    () => undefined,
    async error => {
      log.error({ err: (error as Error).message, code: (error as OfferstreamError).code }, 'service failed')
      await stop()
      throw error
    },
  )
  log.info(
    {
      input: config.inputTopic,
      output: config.outputTopic,
      dlq: config.dlqTopic,
      shards: config.shards,
      owner: ownerId,
      httpPort: http?.port,
    },
    'offerstream running',
  )
  return { metrics, httpPort: http?.port, done, stop }
}

/** Joins the shard group; a membership the client gave up on is rebuilt (the shards keep running meanwhile, fenced if moved). */
async function joinShardGroup(
  config: Config,
  manager: ShardManager,
  log: Logger,
  clock: Clock,
  onFatal: (error: Error) => void,
): Promise<{ close(): Promise<void> }> {
  let current: ShardMembership | undefined
  let rebuilding = false
  const build = async (): Promise<ShardMembership> => {
    const m = new ShardMembership(config, {
      onAssignment: a => manager.assign(a.generation, a.shards),
      onHeartbeat: generation => manager.heartbeat(generation),
      onFailure: error => {
        if (rebuilding || current !== m) return
        rebuilding = true
        log.warn({ err: error.message }, 'shard group membership failed; rejoining')
        void (async () => {
          await m.close()
          // Retryable failures are retried for as long as it takes; anything else ends the service,
          // like any non-retryable failure, since this instance could never own a shard again.
          current = await retry(build, { clock, maxDelayMs: config.retryMaxDelayMs }).catch(error => {
            onFatal(error as Error)
            return undefined
          })
          rebuilding = false
        })()
      },
    })
    try {
      await m.start()
    } catch (error) {
      await m.close()
      throw error
    }
    current = m
    return m
  }
  await build()
  return { close: async () => current?.close() }
}
