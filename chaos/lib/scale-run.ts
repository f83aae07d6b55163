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
  const svcs = logFiles.map((logFile, i) => new ServiceProcess({ ...fx.config, groupInstanceId: `${fx.config.groupId}-${i}` }, { logFile }))
  // Instances under a deliberate kill or stop; any other exit is a crash.
  const busy = new Set<number>()
  let crashes = 0
  const t0 = Date.now()
  // One deadline for the whole run bounds a stalled one, however many waits it has left.
  const left = () => Math.max(1000, t0 + timeoutMs - Date.now())
  for (const s of svcs) s.start()
  const monitor = setInterval(() => {
    svcs.forEach((s, i) => {
      if (busy.has(i) || s.running) return
      crashes++
      log(`instance ${i} exited on its own; restarting it. Tail:\n${s.output.slice(-1500)}`)
      s.start()
    })
  }, 500)

  const events: ChaosEvent[] = []
  const counts = { kills: 0, stops: 0, brokerKills: 0 }
  // SIGCONTs and the broker's restart run in the background, so later events still land mid-run.
  const background: Array<Promise<unknown>> = []
  const frozen = new Set<number>()
  // The planned target, or the next instance not already stopped.
  const free = (target: number) => Array.from({ length: o.instances }, (_, k) => (target + k) % o.instances).find(i => !busy.has(i))!
  try {
    const produced = produceInSlices(fx, w.records, o.slices ?? 8, left)
    // Awaited after the events; marked handled now so an early failure does not end the process first.
    produced.catch(() => {})
    for (const p of planEvents(o)) {
      const rows = await waitForFeedback(fx, Math.floor(p.fraction * w.expected.size), left())
      // At least one instance keeps running.
      if (p.kind === 'stop' && busy.size >= o.instances - 1) await Promise.all(background)
      const target = p.kind === 'broker' ? p.target : free(p.target)
      const e: ChaosEvent = { kind: p.kind, target, rows, atMs: Date.now() - t0 }
      events.push(e)
      if (p.kind === 'kill') {
        busy.add(target)
        const result = await svcs[target]!.kill('SIGKILL')
        if (result.signal === 'SIGKILL') counts.kills++
        svcs[target]!.start()
        busy.delete(target)
      } else if (p.kind === 'stop') {
        const pid = svcs[target]!.pid!
        busy.add(target)
        frozen.add(pid)
        process.kill(pid, 'SIGSTOP')
        counts.stops++
        e.heldMs = p.holdMs
        background.push(
          sleep(p.holdMs).then(() => {
            process.kill(pid, 'SIGCONT')
            frozen.delete(pid)
            busy.delete(target)
          }),
        )
      } else if (o.brokerStack) {
        const stack = o.brokerStack
        await stack.stopBroker(target, { hard: true })
        counts.brokerKills++
        e.heldMs = p.holdMs
        background.push(sleep(p.holdMs).then(() => stack.startBroker(target)))
      }
      background.at(-1)?.catch(() => {})
      log(
        `${e.kind} ${e.kind === 'broker' ? 'node' : 'instance'} ${target} at ${rows}/${w.expected.size} rows${e.heldMs ? ` for ${e.heldMs} ms` : ''}`,
      )
    }
    await produced
    // Frozen instances are back before the check, so late work of theirs would show as duplicates.
    await Promise.all(background)
    log(`input produced, chaos done after ${Math.round((Date.now() - t0) / 1000)} s; waiting for both sinks`)
    const sinks = await checkSinks(fx, w.expected, left())
    const dlq = await checkDlq(fx, w.bad, left())
    const elapsedMs = Date.now() - t0
    const { inputTopic, outputTopic, dlqTopic } = fx.config
    const health = counts.brokerKills ? await waitForInSync(fx.config.kafkaBrokers, [inputTopic, outputTopic, dlqTopic], 120000) : undefined
    clearInterval(monitor)
    const stopped = await Promise.all(svcs.map(s => (s.running ? s.kill('SIGTERM') : { code: -1 })))
    const warnings: Record<string, number> = {}
    for (const line of logFiles.flatMap(f => readFileSync(f, 'utf8').split('\n'))) {
      // A SIGKILL can cut the last line of an incarnation short: such a line is skipped.
      const entry = parseLogLine(line)
      if (!entry) continue
      const key = entry.code ? `${entry.msg}: ${entry.code}` : entry.msg
      if (entry.level >= 40) warnings[key] = (warnings[key] ?? 0) + 1
    }
    return {
      events,
      ...counts,
      crashes,
      warnings,
      sinks,
      dlq,
      health,
      cleanExit: stopped.every(s => s.code === 0),
      elapsedMs,
      logFiles,
    }
  } finally {
    clearInterval(monitor)
    for (const pid of frozen) process.kill(pid, 'SIGCONT')
    for (const s of svcs) if (s.running) await s.kill('SIGKILL')
  }
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
