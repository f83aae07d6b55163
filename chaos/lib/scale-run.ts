import { mkdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import type { Fixture } from '../../testkit/fixture.ts'
import type { Rng } from '../../testkit/rng.ts'
import { ServiceProcess } from '../../testkit/service-process.ts'
import { checkSinks, type SinkReport, waitForFeedback } from '../../testkit/sinks.ts'
import type { KeyedRecord, KeyedWorkload } from '../../testkit/workload.ts'
import type { Stack } from '../../tools/stack/index.ts'
import { type ClusterHealth, waitForInSync } from './cluster-health.ts'
import { checkDlq, type DlqReport } from './dlq-check.ts'
import { produceRetrying } from './produce-retrying.ts'

interface ScaleRunOptions {
  instances: number
  kills: number
  stops: number
  /** SIGKILL one broker of this stack once, restart it a few seconds later. Absent: no broker kill. */
  brokerStack?: Stack
  rng: Rng
  /** One log file per instance (all its incarnations) is kept here. */
  runDir: string
  /** Shortest SIGSTOP: beyond the 10 s session timeout, so the group gives the frozen member's work away. */
  stopMs?: number
  /** The input is produced in this many slices, each once half the pairs owed so far are in PostgreSQL. */
  slices?: number
  /** Bounds the whole run (a stalled one fails instead of hanging). */
  timeoutMs?: number
  /** The sinks' check when `expected` is not the whole answer (controls: cancelled campaigns); default checkSinks. */
  checkSinks?: (timeoutMs: number) => Promise<SinkReport>
  log?: (m: string) => void
}

interface ChaosEvent {
  kind: 'kill' | 'stop' | 'broker'
  /** Instance index, or broker node id. */
  target: number
  /** subscribers_feedback rows when it happened, and ms since the instances started. */
  rows: number
  atMs: number
  /** SIGSTOP or broker downtime. */
  heldMs?: number
}

interface ScaleRunReport {
  events: ChaosEvent[]
  kills: number
  stops: number
  brokerKills: number
  /** Exits nobody caused (the instance was restarted each time); their output tails are in the log files. */
  crashes: number
  /** Warnings and errors in the instances' logs (message: code) with counts: what an operator would see, e.g. a frozen instance dropping its shards. */
  warnings: Record<string, number>
  sinks: SinkReport
  dlq: DlqReport
  /** After the broker's restart: all brokers back, no under-replicated partition of the run's topics (absent: no broker kill). */
  health?: ClusterHealth
  cleanExit: boolean
  elapsedMs: number
  logFiles: string[]
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms))

/**
 * The N instances and what is being done to them. A monitor restarts any instance that exits while
 * nobody is killing or freezing it, and counts that as a crash. SIGCONTs and a broker's restart run
 * in the background, so later events still land mid-run.
 */
class Instances {
  readonly svcs: ServiceProcess[]
  readonly counts = { kills: 0, stops: 0, brokerKills: 0 }
  crashes = 0
  /** Instances under a deliberate kill or stop; any other exit is a crash. */
  readonly #busy = new Set<number>()
  readonly #frozen = new Set<number>()
  readonly #background: Array<Promise<unknown>> = []
  #monitor: NodeJS.Timeout | undefined

  constructor(fx: Fixture, logFiles: string[]) {
    this.svcs = logFiles.map(
      (logFile, i) => new ServiceProcess({ ...fx.config, groupInstanceId: `${fx.config.groupId}-${i}` }, { logFile }),
    )
  }

  start(log: (m: string) => void): void {
    for (const s of this.svcs) s.start()
    this.#monitor = setInterval(() => {
      this.svcs.forEach((s, i) => {
        if (this.#busy.has(i) || s.running) return
        this.crashes++
        log(`instance ${i} exited on its own; restarting it. Tail:\n${s.output.slice(-1500)}`)
        s.start()
      })
    }, 500)
  }

  /** The planned target, or the next instance not already stopped. */
  free(target: number): number {
    const n = this.svcs.length
    return Array.from({ length: n }, (_, k) => (target + k) % n).find(i => !this.#busy.has(i))!
  }

  /** Before a SIGSTOP: at least one instance keeps running. */
  async keepOneRunning(): Promise<void> {
    if (this.#busy.size >= this.svcs.length - 1) await this.settle()
  }

  async kill(target: number): Promise<void> {
    this.#busy.add(target)
    const result = await this.svcs[target]!.kill('SIGKILL')
    if (result.signal === 'SIGKILL') this.counts.kills++
    this.svcs[target]!.start()
    this.#busy.delete(target)
  }

  freeze(target: number, holdMs: number): void {
    const pid = this.svcs[target]!.pid!
    this.#busy.add(target)
    this.#frozen.add(pid)
    process.kill(pid, 'SIGSTOP')
    this.counts.stops++
    this.#later(
      sleep(holdMs).then(() => {
        process.kill(pid, 'SIGCONT')
        this.#frozen.delete(pid)
        this.#busy.delete(target)
      }),
    )
  }

  async killBroker(stack: Stack, node: number, holdMs: number): Promise<void> {
    await stack.stopBroker(node, { hard: true })
    this.counts.brokerKills++
    this.#later(sleep(holdMs).then(() => stack.startBroker(node)))
  }

  #later(p: Promise<unknown>): void {
    p.catch(() => {})
    this.#background.push(p)
  }

  /** Every frozen instance continued and the broker back. */
  async settle(): Promise<void> {
    await Promise.all(this.#background)
  }

  async stopAll(): Promise<boolean> {
    clearInterval(this.#monitor)
    const stopped = await Promise.all(this.svcs.map(s => (s.running ? s.kill('SIGTERM') : { code: -1 })))
    return stopped.every(s => s.code === 0)
  }

  async release(): Promise<void> {
    clearInterval(this.#monitor)
    for (const pid of this.#frozen) process.kill(pid, 'SIGCONT')
    for (const s of this.svcs) if (s.running) await s.kill('SIGKILL')
  }
}

/** Waits for the planned moment, then kills, freezes or takes down its target; returns what happened. */
async function applyEvent(
  p: PlannedEvent,
  ctx: { fx: Fixture; w: KeyedWorkload; o: ScaleRunOptions; inst: Instances; t0: number; left: () => number },
) {
  const { fx, w, o, inst } = ctx
  const rows = await waitForFeedback(fx, Math.floor(p.fraction * w.expected.size), ctx.left())
  if (p.kind === 'stop') await inst.keepOneRunning()
  const target = p.kind === 'broker' ? p.target : inst.free(p.target)
  const e: ChaosEvent = { kind: p.kind, target, rows, atMs: Date.now() - ctx.t0 }
  if (p.kind === 'kill') await inst.kill(target)
  else if (p.kind === 'stop') {
    inst.freeze(target, p.holdMs)
    e.heldMs = p.holdMs
  } else if (o.brokerStack) {
    await inst.killBroker(o.brokerStack, target, p.holdMs)
    e.heldMs = p.holdMs
  }
  o.log?.(
    `${e.kind} ${e.kind === 'broker' ? 'node' : 'instance'} ${target} at ${rows}/${w.expected.size} rows${e.heldMs ? ` for ${e.heldMs} ms` : ''}`,
  )
  return e
}

/**
 * N `offerstream run` processes share one workload (same config, distinct group instance ids) while
 * the input is produced in slices; at seeded moments, chosen as fractions of the expected rows,
 * one instance is SIGKILLed and restarted, or SIGSTOPped past the session timeout and continued, and
 * once a broker is SIGKILLed and restarted. Then both sinks and the DLQ are checked exactly.
 */
export async function scaleRun(fx: Fixture, w: KeyedWorkload, o: ScaleRunOptions): Promise<ScaleRunReport> {
  const log = o.log ?? (() => {})
  const timeoutMs = o.timeoutMs ?? 900000
  mkdirSync(o.runDir, { recursive: true })
  await fx.addSubscribers(w.subscribers)
  const logFiles = Array.from({ length: o.instances }, (_, i) => path.join(o.runDir, `instance-${i}.log`))
  const inst = new Instances(fx, logFiles)
  const t0 = Date.now()
  // One deadline for the whole run bounds a stalled one, however many waits it has left.
  const left = () => Math.max(1000, t0 + timeoutMs - Date.now())
  inst.start(log)
  try {
    const produced = produceInSlices(fx, w.records, o.slices ?? 8, left)
    // Awaited after the events; marked handled now so an early failure does not end the process first.
    produced.catch(() => {})
    const events: ChaosEvent[] = []
    for (const p of planEvents(o)) events.push(await applyEvent(p, { fx, w, o, inst, t0, left }))
    await produced
    // Frozen instances are back before the check, so late work of theirs would show as duplicates.
    await inst.settle()
    log(`input produced, chaos done after ${Math.round((Date.now() - t0) / 1000)} s; waiting for both sinks`)
    const sinks = await (o.checkSinks ?? (ms => checkSinks(fx, w.expected, ms)))(left())
    const dlq = await checkDlq(fx, w.bad, left())
    const elapsedMs = Date.now() - t0
    const { inputTopic, outputTopic, dlqTopic } = fx.config
    const health = inst.counts.brokerKills
      ? await waitForInSync(fx.config.kafkaBrokers, [inputTopic, outputTopic, dlqTopic], 120000)
      : undefined
    const cleanExit = await inst.stopAll()
    const warnings = warningsIn(logFiles)
    return { events, ...inst.counts, crashes: inst.crashes, warnings, sinks, dlq, health, cleanExit, elapsedMs, logFiles }
  } finally {
    await inst.release()
  }
}

/** Warnings and errors in the instances' logs, as "message: code" with counts. */
function warningsIn(logFiles: string[]): Record<string, number> {
  const warnings: Record<string, number> = {}
  for (const line of logFiles.flatMap(f => readFileSync(f, 'utf8').split('\n'))) {
    // A SIGKILL can cut the last line of an incarnation short: such a line is skipped.
    const entry = parseLogLine(line)
    if (!entry) continue
    const key = entry.code ? `${entry.msg}: ${entry.code}` : entry.msg
    if (entry.level >= 40) warnings[key] = (warnings[key] ?? 0) + 1
  }
  return warnings
}

interface PlannedEvent {
  kind: ChaosEvent['kind']
  target: number
  /** Of the expected rows in PostgreSQL when it happens. */
  fraction: number
  holdMs: number
}

/** The seeded chaos plan: kinds in random order at random fractions of the run, random targets. */
function planEvents(o: ScaleRunOptions): PlannedEvent[] {
  const r = o.rng
  const kinds: Array<ChaosEvent['kind']> = [
    ...Array<ChaosEvent['kind']>(o.kills).fill('kill'),
    ...Array<ChaosEvent['kind']>(o.stops).fill('stop'),
    ...(o.brokerStack ? (['broker'] as const) : []),
  ]
  const fractions = kinds.map(() => 0.05 + r.next() * 0.8).sort((a, b) => a - b)
  const order = kinds.map(k => ({ k, u: r.next() })).sort((a, b) => a.u - b.u)
  const brokers = o.brokerStack?.brokers ?? 1
  return order.map(({ k }, i) => ({
    kind: k,
    target: k === 'broker' ? 1 + r.int(brokers) : r.int(o.instances),
    fraction: fractions[i]!,
    holdMs: k === 'stop' ? (o.stopMs ?? 12000) + r.int(4000) : k === 'broker' ? 5000 + r.int(5000) : 0,
  }))
}

/** Produces the records slice by slice, each slice once half the pairs owed by the earlier ones are in PostgreSQL. */
async function produceInSlices(fx: Fixture, records: KeyedRecord[], slices: number, left: () => number): Promise<void> {
  const per = Math.ceil(records.length / slices)
  let owed = 0
  for (let k = 0; k * per < records.length; k++) {
    if (owed > 0) await waitForFeedback(fx, Math.floor(owed / 2), left())
    const slice = records.slice(k * per, (k + 1) * per)
    const byKey = new Map<string, Array<Buffer | null>>()
    for (const r of slice) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r.value])
    for (const [key, values] of byKey) await produceRetrying(fx, values, key)
    owed += slice.reduce((n, r) => n + r.pairsNow, 0)
  }
}

function parseLogLine(line: string): { level: number; msg: string; code?: string } | undefined {
  try {
    return line.startsWith('{') ? JSON.parse(line) : undefined
  } catch {
    return undefined
  }
}
