import { hostname } from 'node:os'
import type pg from 'pg'
import { capsOf } from '../config/load-config.ts'
import type { Config } from '../config/settings.ts'
import { capsOn } from '../core/frequency-cap.ts'
import { ErrorCodes, OfferstreamError } from '../errors.ts'
import { startHttp } from '../http/server.ts'
import { ensureTopics } from '../kafka/ensure-topics.ts'
import { InputSource } from '../kafka/input-source.ts'
import { legacyCursor } from '../kafka/legacy-cursor.ts'
import { OutputProducer, shardTransactionalId } from '../kafka/output-producer.ts'
import type { RelayCursor } from '../kafka/relay-cursor.ts'
import { ShardMembership } from '../kafka/shard-membership.ts'
import { createMetrics, type Metrics } from '../metrics/metrics.ts'
import { CapGate } from '../pg/cap-gate.ts'
import { CapLease } from '../pg/cap-lease.ts'
import { TimelineGuard } from '../pg/db-identity.ts'
import { PgFeedbackStore } from '../pg/feedback-store.ts'
import { PgIngestStore } from '../pg/ingest-store.ts'
import { migrate } from '../pg/migrate.ts'
import { connectClient, createPool } from '../pg/pool.ts'
import { PgRelayStore } from '../pg/relay-store.ts'
import { listenForShardWork } from '../pg/shard-notifications.ts'
import { PgShardOwner } from '../pg/shard-owner.ts'
import { PgWriterStore } from '../pg/writer-store.ts'
import { systemClock } from './clock.ts'
import { FeedbackIntake } from './feedback-intake.ts'
import { Ingester } from './ingester.ts'
import { jointFanOut } from './joint-fan-out.ts'
import type { Logger } from './logger.ts'
import type { Clock } from './ports.ts'
import { checkRegression, checkShardCursor } from './regression-check.ts'
import { Relay } from './relay.ts'
import { Resources } from './resources.ts'
import { retry } from './retry.ts'
import { joinShardGroup } from './shard-group.ts'
import { ShardManager } from './shard-manager.ts'
import { leadNow, SmallCampaigns } from './small-campaigns.ts'
import { Turns } from './turns.ts'
import { Unpublished } from './unpublished.ts'
import { Writer } from './writer.ts'

export interface Service {
  metrics: Metrics
  httpPort: number | undefined
  /** Resolves when the service stopped; rejects if it died of a non-retryable error. */
  done: Promise<void>
  /** Idempotent: finish the in-flight step, publish what is committed, close everything. */
  stop(): Promise<void>
}

/** What the start-up steps share. */
interface Startup {
  config: Config
  log: Logger
  clock: Clock
  metrics: Metrics
  ownerId: string
  /** What start-up opened; closed in reverse order on a failed start and on stop. */
  resources: Resources
  /** Aborted by stop() or the caller's cancel: ends start-up retries and the shard group's rebuilds. */
  stopping: AbortController
  /** Set once start-up succeeded: from then on, stopping drains the relays within the shutdown budget. */
  started: boolean
  withRetry<T>(what: string, fn: () => Promise<T>): Promise<T>
  /** Ends the service with a non-retryable failure of a part that runs in the background. */
  fatal(error: Error): void
  /** Refuses connections to a PostgreSQL on another timeline than the start-up check saw (a failover). */
  timeline: TimelineGuard
  /** For /healthz: a failover seen since the start, or what the start-up check repaired. */
  pgState: string | undefined
}

/** The service's parts, built before anything runs so that every reader (the health check) sees them. */
interface Parts {
  manager: ShardManager
  ingester: Ingester
  intake: FeedbackIntake
}

/**
 * Wires the adapters together: the ingest stage, the feedback intake, the shard group membership,
 * and a writer and relay per owned shard. Each start-up step registers what it opened; stop (and a
 * failed start) closes it all in reverse: feedback intake, ingest, shards (writers stop, relays
 * drain), shard group, shard-work listener, HTTP, pool.
 */
export async function startService(config: Config, log: Logger, cancel?: AbortSignal): Promise<Service> {
  const { startup, died } = createStartup(config, log)
  // A stop requested while starting ends the retries of the start-up steps.
  cancel?.addEventListener('abort', () => startup.stopping.abort(), { once: true })
  let running: Promise<unknown>
  let httpPort: number | undefined
  try {
    const pool = openPool(startup)
    await prepareStorage(startup, pool)
    const parts = buildParts(startup, pool)
    httpPort = await startHttpServer(startup, parts)
    startShardWorkListener(startup, parts.manager)
    const joined = startShardGroup(startup, parts.manager)
    // Ingest needs no shard: it joins the input group while the shard group forms (after a restart
    // both joins used to add up before the first record was stored).
    running = startInputs(startup, parts)
    await joined
  } catch (error) {
    startup.stopping.abort()
    await startup.resources.closeAll()
    throw error
  }
  startup.started = true
  let stopping: Promise<void> | undefined
  const stop = () => {
    stopping ??= (async () => {
      startup.stopping.abort()
      await startup.resources.closeAll()
      log.info('stopped')
    })()
    return stopping
  }
  const done = Promise.race([running, died]).then(
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
      owner: startup.ownerId,
      httpPort,
    },
    'offerstream running',
  )
  return { metrics: startup.metrics, httpPort, done, stop }
}

function createStartup(config: Config, log: Logger): { startup: Startup; died: Promise<never> } {
  let fatal: (error: Error) => void = () => {}
  const died = new Promise<never>((_, reject) => {
    fatal = reject
  })
  died.catch(() => {})
  const clock = systemClock
  const stopping = new AbortController()
  const startup: Startup = {
    config,
    log,
    clock,
    metrics: createMetrics(),
    ownerId: `${config.groupInstanceId || hostname()}:${process.pid}`,
    resources: new Resources(log),
    stopping,
    started: false,
    withRetry: (what, fn) =>
      retry(fn, {
        clock,
        maxDelayMs: config.retryMaxDelayMs,
        signal: stopping.signal,
        onRetry: (e, _attempt, delay) => log.warn({ code: e.code, err: e.message, retryInMs: delay }, `${what} failed; retrying`),
      }),
    fatal: error => fatal(error),
    // A failover after the start-up check stops the service; connections to the new server are refused first.
    timeline: new TimelineGuard((seen, expected) => {
      startup.pgState = `timeline changed from ${expected} to ${seen}`
      fatal(
        new OfferstreamError(
          ErrorCodes.PG_REGRESSION,
          `PostgreSQL is on timeline ${seen}, was ${expected}: stopping so the next start checks it`,
        ),
      )
    }),
    pgState: undefined,
  }
  return { startup, died }
}

function openPool({ config, resources, timeline }: Startup): pg.Pool {
  const pool = createPool(
    config.databaseUrl,
    config.pgPoolSize,
    { connectMs: config.pgConnectTimeoutMs, idleInTransactionMs: config.pgIdleInTransactionTimeoutMs },
    timeline.onConnect,
  )
  resources.defer('PostgreSQL pool', () => pool.end())
  return pool
}

/** Schema, shard rows and topics: idempotent, retried while PostgreSQL or Kafka is unavailable. */
async function prepareStorage(startup: Startup, pool: pg.Pool): Promise<void> {
  const { config, log, metrics, withRetry } = startup
  const applied = await withRetry('migration', () => migrate(pool))
  if (applied.length) log.info({ applied }, 'migrations applied')
  const setup = await withRetry('shard set-up', () => new PgShardOwner(pool).setup(config.shards))
  if (setup === 'created') log.info({ shards: config.shards }, 'shards set up')
  const created = await withRetry('topic setup', () => ensureTopics(config))
  if (created.length) log.info({ created }, 'topics created')
  // Before anything is stored or published: is PostgreSQL behind Kafka (a failover that lost
  // transactions)? Then, until the next start's check, any connection to another timeline stops the service.
  const checked = await withRetry('PostgreSQL regression check', () => checkRegression(pool, config, log, metrics))
  if (checked.outcome !== 'none')
    startup.pgState = `regression ${checked.outcome} at start in ${checked.repairMs} ms: ${JSON.stringify(checked.restored)}`
  startup.timeline.expect(checked.timeline)
}

function buildParts(startup: Startup, pool: pg.Pool): Parts {
  const { config, log, metrics, clock, ownerId } = startup
  const fanOutTurns = new Turns(config.fanoutConcurrency)
  const manager = createShardManager(startup, pool, fanOutTurns)
  const consumer = async (sourceConfig: Config): Promise<InputSource> => {
    const source = new InputSource(sourceConfig)
    await source.start().catch(async error => {
      await source.close()
      throw error
    })
    return source
  }
  const ingester = new Ingester({
    store: new PgIngestStore(pool, ownerId, config.shards),
    config,
    log,
    metrics,
    clock,
    onStored: shards => {
      for (const [shard, stored] of shards) manager.wake(shard, stored)
    },
    // Not with a frequency cap: a capped transaction may first wait for the caps' lease.
    inShard: capsOn(capsOf(config)) ? undefined : (shard, events) => manager.offer(shard, tx => tx.storeEvents(events)),
    joint: capsOn(capsOf(config)) ? undefined : jointFanOut(manager, config, clock),
    createInput: async () => {
      const source = await consumer(config)
      metrics.probes.inputLag = () => source.lag()
      return source
    },
  })
  const intake = new FeedbackIntake({
    store: new PgFeedbackStore(pool),
    config,
    log,
    metrics,
    clock,
    // The input consumer's settings, pointed at the feedback topic with a group of its own.
    createInput: () => consumer({ ...config, inputTopic: config.feedbackTopic, groupId: `${config.groupId}-feedback` }),
    onRejected: () => manager.wakeRelays(),
  })
  metrics.shardsTotal.set(config.shards)
  metrics.probes.healthy = () => health(startup, { manager, ingester, intake }).ok
  return { manager, ingester, intake }
}

/** Unhealthy while a dependency is failing; the loops keep retrying, so it recovers by itself. */
function health({ pgState }: Startup, { ingester, intake, manager }: Parts) {
  const shards = manager.health()
  return {
    ok: !ingester.lastError && !intake.lastError && shards.failing.length === 0 && !pgState?.startsWith('timeline'),
    detail: {
      postgres: pgState ?? 'ok',
      ingest: ingester.lastError ?? 'ok',
      shards: shards.failing.length ? shards.failing.join('; ') : 'ok',
      feedback: intake.lastError ?? 'ok',
    },
  }
}

function createShardManager(
  { config, log, metrics, clock, ownerId, fatal, resources }: Startup,
  pool: pg.Pool,
  fanOutTurns: Turns,
): ShardManager {
  const owner = new PgShardOwner(pool)
  // Read once per process, and only by a shard relay that has no cursor of its own yet.
  let legacy: Promise<RelayCursor | null> | undefined
  const legacyStart = () => {
    legacy ??= legacyCursor(config)
    legacy.catch(() => {
      legacy = undefined
    })
    return legacy
  }
  // One per instance: while any of its shards writes small campaigns, big fan-outs in all of them yield.
  const smallCampaigns = new SmallCampaigns(clock)
  // One per instance, shared by every shard it owns: the caps' in-memory history (cap-gate.ts).
  const caps = capsOf(config)
  const capGate = capsOn(caps)
    ? new CapGate(caps, new CapLease(() => connectClient(config.databaseUrl, config.pgConnectTimeoutMs)), () => clock.now())
    : undefined
  // Registered before the shards' stop, so it runs after it: the writers are done with the lease.
  if (capGate) resources.defer('frequency caps lease', () => capGate.close())
  return new ShardManager({
    acquire: (shard, generation, force) => owner.acquire(shard, generation, ownerId, force),
    startShard: (shard, epoch) => {
      const shardLog = log.child({ shard })
      const unpublished = new Unpublished(() => leadNow(config.fanoutLead, config.fanoutLeadShared, smallCampaigns))
      const relay = new Relay({
        store: new PgRelayStore(pool, shard),
        config,
        log: shardLog,
        metrics,
        clock,
        createOutput: () => new OutputProducer(config, shardTransactionalId(config, shard), legacyStart),
        checkOwner: () => owner.check(shard, epoch),
        checkCursor: cursor => checkShardCursor(pool, config, shard, cursor, metrics),
        onPublished: (pushed, drained) => unpublished.published(pushed, drained),
      })
      const writer = new Writer({
        store: new PgWriterStore(pool, shard, epoch, capGate),
        config,
        log: shardLog,
        metrics,
        clock,
        onWritten: () => relay.wake(false),
        turns: fanOutTurns,
        unpublished,
        smallCampaigns,
      })
      return { writer, relay }
    },
    log,
    clock,
    retryMaxDelayMs: config.retryMaxDelayMs,
    onFatal: fatal,
    onOwned: shards => metrics.shardsOwned.set(shards.length),
  })
}

/** /healthz, /metrics, the API and the dashboard; the port it listens on (undefined when disabled). */
async function startHttpServer(startup: Startup, parts: Parts): Promise<number | undefined> {
  const { config, metrics, resources } = startup
  if (!config.httpEnabled) return undefined
  const http = await startHttp(config.httpHost, config.httpPort, {
    databaseUrl: config.databaseUrl,
    metrics,
    apiToken: config.apiToken,
    health: () => health(startup, parts),
  })
  resources.defer('HTTP server', () => http.close())
  return http.port
}

/** Other instances' ingest stages tell this one about work for the shards it owns. */
function startShardWorkListener({ config, ownerId, resources }: Startup, manager: ShardManager): void {
  const listener = listenForShardWork(config.databaseUrl, ownerId, (shard, work) => manager.wake(shard, work))
  resources.defer('shard-work listener', () => listener.close())
}

/** Starts ingest and the feedback intake; resolves when both ended, rejects when either failed. */
function startInputs({ resources }: Startup, { ingester, intake }: Parts): Promise<unknown> {
  const ingest = ingester.run()
  resources.defer('ingest', () => ingester.stop())
  const feedback = intake.run()
  resources.defer('feedback intake', () => intake.stop())
  const both = Promise.all([ingest, feedback])
  both.catch(() => {}) // observed by `done`; this only keeps an early failure from being "unhandled"
  return both
}

/**
 * Joins the shard group, in the background; the promise returned settles once joined. Registers
 * the group's leave and, after it, the shards' stop: on the way down the shards stop (their relays
 * drain) before the instance leaves the group.
 */
function startShardGroup(startup: Startup, manager: ShardManager): Promise<void> {
  const { config, log, clock, resources, fatal } = startup
  const group = joinShardGroup({
    createMember: events => new ShardMembership(config, events),
    events: {
      onAssignment: a => manager.assign(a.generation, a.shards),
      onHeartbeat: generation => manager.heartbeat(generation),
    },
    log,
    clock,
    retryMaxDelayMs: config.retryMaxDelayMs,
    signal: startup.stopping.signal,
    onFatal: fatal,
  })
  resources.defer('shard group', () => group.leave())
  resources.defer('shards', () => manager.stop(startup.started ? AbortSignal.timeout(config.shutdownTimeoutMs) : undefined))
  return group.joined
}
