import fs from 'node:fs/promises'
import path from 'node:path'
import { KAFKA_MARKER, type KafkaSpec } from './kafka.ts'
import { HOST, pickPort, portAnswers, waitUntil } from './net.ts'
import { DEFAULT_STACK_DIR } from './paths.ts'
import { databaseUrl, PG_MARKER, type PgSpec } from './postgres.ts'
import { runs, stopPid } from './process.ts'
import { awaitReady, type ServiceDef } from './service.ts'
import { kafkaDef, postgresDef } from './stack.ts'

// Preferred ports of `offerstream stack up`, so the exported env lines stay the same day to day.
const DEFAULT_KAFKA_PORT = 19092
const DEFAULT_CONTROLLER_PORT = 19093
const DEFAULT_PG_PORT = 15432

interface State {
  kafka: { pid?: number; port: number; controllerPort: number }
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
  kafka?: ServiceStatus
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
    return JSON.parse(await fs.readFile(stateFile(dir), 'utf8')) as State
  } catch {
    return undefined
  }
}

async function writeState(dir: string, state: State): Promise<void> {
  const tmp = `${stateFile(dir)}.tmp`
  await fs.writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`)
  await fs.rename(tmp, stateFile(dir)) // a crash mid-write must not lose the pids
}

function specs(dir: string, state: State): { kafka: KafkaSpec; postgres: PgSpec } {
  return {
    kafka: { dir: path.join(dir, 'kafka'), port: state.kafka.port, controllerPort: state.kafka.controllerPort },
    postgres: { dir: path.join(dir, 'postgres'), port: state.postgres.port },
  }
}

function envLines(state: State): string {
  return `export KAFKA_BROKERS=${HOST}:${state.kafka.port}\nexport DATABASE_URL=${databaseUrl(state.postgres.port)}\n`
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

/** `offerstream stack up`: idempotent; both services outlive the calling process. */
export async function stackUp(dir: string = DEFAULT_STACK_DIR, log: (msg: string) => void = () => {}): Promise<StackUpResult> {
  await fs.mkdir(dir, { recursive: true })
  const old = await readState(dir)
  const kafkaRuns = runs(old?.kafka.pid, KAFKA_MARKER)
  const pgRuns = runs(old?.postgres.pid, PG_MARKER)
  // The default ports when free, else those of the previous run, else any.
  const state: State = {
    kafka:
      kafkaRuns && old
        ? old.kafka
        : {
            port: await pickPort(DEFAULT_KAFKA_PORT, old?.kafka.port),
            controllerPort: await pickPort(DEFAULT_CONTROLLER_PORT, old?.kafka.controllerPort),
          },
    postgres: pgRuns && old ? old.postgres : { port: await pickPort(DEFAULT_PG_PORT, old?.postgres.port) },
  }
  await writeState(dir, state)
  const spec = specs(dir, state)
  let saving = Promise.resolve()
  const record = (which: 'kafka' | 'postgres') => (pid: number) => {
    state[which].pid = pid
    saving = saving.then(() => writeState(dir, state))
    return saving
  }
  log(kafkaRuns && pgRuns ? `stack: already running (${dir})` : `stack: starting in ${dir}`)
  await Promise.all([
    ensureUp(kafkaDef(spec.kafka, true, log), kafkaRuns, record('kafka')),
    ensureUp(postgresDef(spec.postgres, true), pgRuns, record('postgres')),
  ])
  log(`stack: up (kafka pid ${state.kafka.pid}, postgres pid ${state.postgres.pid}); logs in ${dir}`)
  return {
    kafkaBrokers: `${HOST}:${state.kafka.port}`,
    databaseUrl: databaseUrl(state.postgres.port),
    alreadyRunning: kafkaRuns && pgRuns,
    env: envLines(state),
  }
}

/** `offerstream stack down`: graceful stop of both; idempotent. Data is kept for the next `up`. */
export async function stackDown(dir: string = DEFAULT_STACK_DIR, log: (msg: string) => void = () => {}): Promise<void> {
  const state = await readState(dir)
  if (!state) return log('stack: nothing to stop')
  const spec = specs(dir, state)
  const stop = async (which: 'kafka' | 'postgres', marker: string, def: ServiceDef) => {
    const pid = state[which].pid
    if (runs(pid, marker) && pid) {
      await stopPid(pid, def.stop)
      log(`stack: stopped ${def.name} (pid ${pid})`)
    }
    delete state[which].pid
  }
  await Promise.all([
    stop('kafka', KAFKA_MARKER, kafkaDef(spec.kafka, true)),
    stop('postgres', PG_MARKER, postgresDef(spec.postgres, true)),
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
  const kafka = await probe(state.kafka.pid, state.kafka.port, KAFKA_MARKER)
  const postgres = await probe(state.postgres.pid, state.postgres.port, PG_MARKER)
  const line = (name: string, s: ServiceStatus) =>
    `${name}: ${s.answering ? 'running' : s.alive ? 'starting or stuck' : 'stopped'}` +
    (s.alive ? ` (pid ${s.pid}, ${HOST}:${s.port})` : '')
  const running = kafka.answering && postgres.answering
  const text = `${line('kafka', kafka)}\n${line('postgres', postgres)}\n${running ? envLines(state) : ''}`
  return {
    dir,
    running,
    kafka,
    postgres,
    text,
    ...(running ? { kafkaBrokers: `${HOST}:${state.kafka.port}`, databaseUrl: databaseUrl(state.postgres.port) } : {}),
  }
}
