import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { clusterSpecs, KAFKA_CRASH, KAFKA_STOP, type KafkaSpec, kafkaAnswers, kafkaLogFile, spawnKafka } from './kafka.ts'
import { freePort, HOST } from './net.ts'
import { kafkaNodeDir } from './paths.ts'
import { databaseUrl, PG_CRASH, PG_STOP, type PgSpec, pgHome, pgLogFile, postgresAnswers, spawnPostgres } from './postgres.ts'
import { postgresRunAs } from './postgres-user.ts'
import { OwnedService, type ServiceDef } from './service.ts'
import { Watchdog } from './watchdog.ts'

export interface StackOptions {
  /** Working folder; default: a fresh temp folder, deleted again by stop(). */
  dir?: string
  /** Kafka nodes (combined broker+controller); 3 gives replication factor 3 and min ISR 2 internally. Default 1. */
  brokers?: number
  /** Broker port of node 1. */
  kafkaPort?: number
  pgPort?: number
  log?: (msg: string) => void
}

export interface Stack {
  /** Every node's `host:port`, comma-separated. */
  kafkaBrokers: string
  databaseUrl: string
  dir: string
  /** Number of Kafka nodes. */
  brokers: number
  /** All Kafka nodes. Graceful by default; `hard` kills like a crash (chaos tests). Same ports and data on restart. */
  stopKafka(opts?: { hard?: boolean }): Promise<void>
  startKafka(): Promise<void>
  /** One node (1-based) of the cluster; its start resolves once all nodes are registered again. */
  stopBroker(nodeId: number, opts?: { hard?: boolean }): Promise<void>
  startBroker(nodeId: number): Promise<void>
  stopPostgres(opts?: { hard?: boolean }): Promise<void>
  startPostgres(): Promise<void>
  /** Idempotent; stops both, gracefully. */
  stop(): Promise<void>
  /** Live pids (undefined when stopped): for chaos tests (SIGSTOP a broker) and leak checks. `kafka` is node 1. */
  pids(): { kafka?: number; brokers: Array<number | undefined>; postgres?: number }
}

export function kafkaDef(spec: KafkaSpec, detached: boolean, log?: (msg: string) => void): ServiceDef {
  return {
    get name() {
      return spec.quorum.length === 1 ? `kafka on ${HOST}:${spec.port}` : `kafka node ${spec.nodeId} on ${HOST}:${spec.port}`
    },
    logFile: kafkaLogFile(spec),
    spawn: () => spawnKafka(spec, { detached, log }),
    answers: () => kafkaAnswers(spec.port, spec.quorum.length),
    stop: KAFKA_STOP,
    crash: KAFKA_CRASH,
    // First boot on a busy 2-core runner, plus log recovery after a crash; three JVMs starting at
    // once on a loaded machine (load average 28 seen) took over 90 s to form their quorum.
    startTimeoutMs: spec.quorum.length > 1 ? 240_000 : 90_000,
  }
}

export function postgresDef(spec: PgSpec, detached: boolean): ServiceDef {
  return {
    get name() {
      return `postgres on ${HOST}:${spec.port}`
    },
    logFile: pgLogFile(spec),
    spawn: () => spawnPostgres(spec, { detached }),
    answers: () => postgresAnswers(spec.port),
    stop: PG_STOP,
    crash: PG_CRASH,
    startTimeoutMs: 60_000, // WAL replay after an immediate shutdown can take a while
  }
}

const portClash = /Address already in use/

/** Auto-picked ports can be taken between picking and binding; pick again a few times. */
async function startPicking(service: OwnedService, spec: { port: number }, auto: boolean): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await service.start()
    } catch (err) {
      if (!auto || attempt >= 3 || !portClash.test(String(err))) throw err
      spec.port = await freePort()
    }
  }
}

/**
 * Starts a real Kafka broker and PostgreSQL as children of this process and
 * resolves once both answer real requests.
 */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const log = opts.log ?? (() => {})
  const ownDir = opts.dir === undefined
  const dir = opts.dir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'offerstream-stack-')))
  await fs.mkdir(dir, { recursive: true })
  if (ownDir) await fs.chmod(dir, 0o755) // mkdtemp makes 0700; the postgres user must get through
  const nodes = opts.brokers ?? 1
  const layout: Array<{ dir: string; port: number; controllerPort: number }> = []
  for (let i = 0; i < nodes; i++) {
    const port = (i === 0 ? opts.kafkaPort : undefined) ?? (await freePort())
    layout.push({ dir: kafkaNodeDir(dir, nodes, i + 1), port, controllerPort: await freePort() })
  }
  const kafkaSpecs: KafkaSpec[] = clusterSpecs(layout)
  const pgSpec: PgSpec = { dir: path.join(dir, 'postgres'), port: opts.pgPort ?? (await freePort()) }
  const watchdog = new Watchdog()
  const throwAway = ownDir && !process.env.OFFERSTREAM_KEEP_STACK
  if (throwAway) {
    // The cluster may live outside `dir` when `dir` is not reachable by the postgres user.
    for (const folder of [dir, pgHome(pgSpec, postgresRunAs())]) watchdog.removeAfterwards(folder)
  }
  const kafka = kafkaSpecs.map(spec => new OwnedService(kafkaDef(spec, false, log), watchdog))
  const postgres = new OwnedService(postgresDef(pgSpec, false), watchdog)
  const node = (nodeId: number): OwnedService => {
    const service = kafka[nodeId - 1]
    if (!service) throw new Error(`no Kafka node ${nodeId} in a cluster of ${nodes}`)
    return service
  }

  let stopped: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await Promise.allSettled([...kafka.map(k => k.stop()), postgres.stop()])
      if (throwAway) {
        await fs.rm(pgHome(pgSpec, postgresRunAs()), { recursive: true, force: true })
        await fs.rm(dir, { recursive: true, force: true })
      }
      watchdog.close() // only now: its own clean-up would race with ours
      log(`stack: stopped (${dir})`)
    })()
    return stopped
  }

  const started = Date.now()
  log(`stack: starting in ${dir}`)
  // All nodes at once: none is ready before a majority of the controller quorum runs.
  const results = await Promise.allSettled([
    ...kafkaSpecs.map((spec, i) => startPicking(kafka[i] as OwnedService, spec, i === 0 ? opts.kafkaPort === undefined : true)),
    startPicking(postgres, pgSpec, opts.pgPort === undefined),
  ])
  const failed = results.find(r => r.status === 'rejected')
  if (failed) {
    await stop()
    throw failed.reason
  }
  const stack: Stack = {
    kafkaBrokers: kafkaSpecs.map(s => `${HOST}:${s.port}`).join(','),
    databaseUrl: databaseUrl(pgSpec.port),
    dir,
    brokers: nodes,
    stopKafka: async o => {
      await Promise.all(kafka.map(k => k.stop(o)))
    },
    startKafka: async () => {
      await Promise.all(kafka.map(k => k.start()))
    },
    stopBroker: (nodeId, o) => node(nodeId).stop(o),
    startBroker: nodeId => node(nodeId).start(),
    stopPostgres: o => postgres.stop(o),
    startPostgres: () => postgres.start(),
    stop,
    pids: () => ({ kafka: kafka[0]?.pid, brokers: kafka.map(k => k.pid), postgres: postgres.pid }),
  }
  log(`stack: ready in ${Date.now() - started} ms: KAFKA_BROKERS=${stack.kafkaBrokers} DATABASE_URL=${stack.databaseUrl}`)
  return stack
}
