import fs from 'node:fs/promises'
import path from 'node:path'
import { clusterSpecs, KAFKA_MARKER, type KafkaSpec } from './kafka.ts'
import { HOST, pickPort, portAnswers, waitUntil } from './net.ts'
import { DEFAULT_STACK_DIR, kafkaNodeDir } from './paths.ts'
import { databaseUrl, PG_MARKER, type PgSpec } from './postgres.ts'
import { runs, stopPid } from './process.ts'
import { awaitReady, type ServiceDef } from './service.ts'
import { kafkaDef, postgresDef } from './stack.ts'

// Preferred ports of `offerstream stack up`, so the exported env lines stay the same day to day.
// Node i (0-based) of a cluster gets 19092 + 2i and 19093 + 2i.
const DEFAULT_KAFKA_PORT = 19092
const DEFAULT_CONTROLLER_PORT = 19093
const DEFAULT_PG_PORT = 15432

interface NodeState {
  pid?: number
  port: number
  controllerPort: number
}

interface State {
  /** One entry per Kafka node, node 1 first. */
  kafka: NodeState[]
  postgres: { pid?: number; port: number }
}

interface ServiceStatus {
  pid?: number
  port: number
  alive: boolean
  answering: boolean
}

export interface StackStatus {
  dir: string
  running: boolean
  /** One per Kafka node, node 1 first. */
  kafka?: ServiceStatus[]
  postgres?: ServiceStatus
  kafkaBrokers?: string
  databaseUrl?: string
  /** Human-readable summary for the CLI. */
  text: string
}

export interface StackUpResult {
  kafkaBrokers: string
  databaseUrl: string
  alreadyRunning: boolean
  /** `export KAFKA_BROKERS=...` and `export DATABASE_URL=...`, for `eval` (child processes such as `npm test` must see them). */
  env: string
}

const stateFile = (dir: string) => path.join(dir, 'state.json')

async function readState(dir: string): Promise<State | undefined> {
  try {
    const state = JSON.parse(await fs.readFile(stateFile(dir), 'utf8')) as Omit<State, 'kafka'> & { kafka: NodeState | NodeState[] }
    // Stacks written before multi-node support hold one node as an object.
    return { ...state, kafka: Array.isArray(state.kafka) ? state.kafka : [state.kafka] }
  } catch {
    return undefined
  }
}

async function writeState(dir: string, state: State): Promise<void> {
  const tmp = `${stateFile(dir)}.tmp`
  await fs.writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`)
  await fs.rename(tmp, stateFile(dir)) // a crash mid-write must not lose the pids
}

function specs(dir: string, state: State): { kafka: KafkaSpec[]; postgres: PgSpec } {
  const nodes = state.kafka.length
  return {
    kafka: clusterSpecs(
      state.kafka.map((n, i) => ({ dir: kafkaNodeDir(dir, nodes, i + 1), port: n.port, controllerPort: n.controllerPort })),
    ),
    postgres: { dir: path.join(dir, 'postgres'), port: state.postgres.port },
  }
}

const brokerList = (state: State) => state.kafka.map(n => `${HOST}:${n.port}`).join(',')

function envLines(state: State): string {
  return `export KAFKA_BROKERS=${brokerList(state)}\nexport DATABASE_URL=${databaseUrl(state.postgres.port)}\n`
}

/**
 * Brings one service up detached, or adopts the instance already running. The pid
 * is recorded before waiting, so a `down` during a slow start still finds it.
 */
async function ensureUp(def: ServiceDef, running: boolean, record: (pid: number) => Promise<void>): Promise<void> {
  if (running) {
    // Adopted, perhaps still starting (a parallel `up`): it only has to answer in time.
    await waitUntil(def.name, def.answers, { timeoutMs: def.startTimeoutMs, intervalMs: 200 })
    return
  }
  const child = await def.spawn()
  child.unref()
  if (child.pid) await record(child.pid)
  await awaitReady(def, child)
}

/** `offerstream stack up`: idempotent; every service outlives the calling process. */
export async function stackUp(
  dir: string = DEFAULT_STACK_DIR,
  log: (msg: string) => void = () => {},
  opts: { brokers?: number } = {},
): Promise<StackUpResult> {
  await fs.mkdir(dir, { recursive: true })
  const old = await readState(dir)
  const oldRuns = (old?.kafka ?? []).map(n => runs(n.pid, KAFKA_MARKER))
  const anyKafka = oldRuns.some(Boolean)
  // Without --brokers: whatever runs now, else one node.
  const nodes = opts.brokers ?? (anyKafka && old ? old.kafka.length : 1)
  if (anyKafka && old && old.kafka.length !== nodes) {
    throw new Error(`the stack in ${dir} runs ${old.kafka.length} Kafka node(s), not ${nodes}: run 'offerstream stack down' first`)
  }
  const pgRuns = runs(old?.postgres.pid, PG_MARKER)
  // Per node: its running instance, else the default ports when free, else those of the previous run, else any.
  const kafka: NodeState[] = []
  for (let i = 0; i < nodes; i++) {
    const prev = old?.kafka.length === nodes ? old.kafka[i] : undefined
    kafka.push(
      prev && oldRuns[i]
        ? prev
        : {
            port: await pickPort(DEFAULT_KAFKA_PORT + 2 * i, prev?.port),
            controllerPort: await pickPort(DEFAULT_CONTROLLER_PORT + 2 * i, prev?.controllerPort),
          },
    )
  }
  const state: State = { kafka, postgres: pgRuns && old ? old.postgres : { port: await pickPort(DEFAULT_PG_PORT, old?.postgres.port) } }
  await writeState(dir, state)
  const spec = specs(dir, state)
  let saving = Promise.resolve()
  const record = (set: (pid: number) => void) => (pid: number) => {
    set(pid)
    saving = saving.then(() => writeState(dir, state))
    return saving
  }
  const allRun = oldRuns.length === nodes && oldRuns.every(Boolean) && pgRuns
  log(allRun ? `stack: already running (${dir})` : `stack: starting in ${dir}`)
  // All Kafka nodes at once: none is ready before a majority of the controller quorum runs.
  await Promise.all([
    ...spec.kafka.map((s, i) => {
      const node = kafka[i] as NodeState
      return ensureUp(
        kafkaDef(s, true, log),
        node === old?.kafka[i] && !!oldRuns[i],
        record(pid => {
          node.pid = pid
        }),
      )
    }),
    ensureUp(
      postgresDef(spec.postgres, true),
      pgRuns,
      record(pid => {
        state.postgres.pid = pid
      }),
    ),
  ])
  log(`stack: up (kafka pid ${kafka.map(n => n.pid).join(', ')}, postgres pid ${state.postgres.pid}); logs in ${dir}`)
  return {
    kafkaBrokers: brokerList(state),
    databaseUrl: databaseUrl(state.postgres.port),
    alreadyRunning: allRun,
    env: envLines(state),
  }
}

/** `offerstream stack down`: graceful stop of everything; idempotent. Data is kept for the next `up`. */
export async function stackDown(dir: string = DEFAULT_STACK_DIR, log: (msg: string) => void = () => {}): Promise<void> {
  const state = await readState(dir)
  if (!state) return log('stack: nothing to stop')
  const spec = specs(dir, state)
  const stop = async (holder: { pid?: number }, marker: string, def: ServiceDef) => {
    const pid = holder.pid
    if (runs(pid, marker) && pid) {
      await stopPid(pid, def.stop)
      log(`stack: stopped ${def.name} (pid ${pid})`)
    }
    delete holder.pid
  }
  await Promise.all([
    ...spec.kafka.map((s, i) => stop(state.kafka[i] as NodeState, KAFKA_MARKER, kafkaDef(s, true))),
    stop(state.postgres, PG_MARKER, postgresDef(spec.postgres, true)),
  ])
  await writeState(dir, state)
}

/** `offerstream stack status`: what runs, judged by a live pid and an answering port. */
export async function stackStatus(dir: string = DEFAULT_STACK_DIR): Promise<StackStatus> {
  const state = await readState(dir)
  if (!state) return { dir, running: false, text: `stack: never started in ${dir}\n` }
  const probe = async (pid: number | undefined, port: number, marker: string): Promise<ServiceStatus> => {
    const alive = runs(pid, marker)
    return { pid, port, alive, answering: alive && (await portAnswers(port)) }
  }
  const kafka = await Promise.all(state.kafka.map(n => probe(n.pid, n.port, KAFKA_MARKER)))
  const postgres = await probe(state.postgres.pid, state.postgres.port, PG_MARKER)
  const line = (name: string, s: ServiceStatus) =>
    `${name}: ${s.answering ? 'running' : s.alive ? 'starting or stuck' : 'stopped'}` +
    (s.alive ? ` (pid ${s.pid}, ${HOST}:${s.port})` : '')
  const running = kafka.every(k => k.answering) && postgres.answering
  const kafkaLines = kafka.map((k, i) => line(kafka.length === 1 ? 'kafka' : `kafka node ${i + 1}`, k))
  const text = `${[...kafkaLines, line('postgres', postgres)].join('\n')}\n${running ? envLines(state) : ''}`
  return {
    dir,
    running,
    kafka,
    postgres,
    text,
    ...(running ? { kafkaBrokers: brokerList(state), databaseUrl: databaseUrl(state.postgres.port) } : {}),
  }
}
