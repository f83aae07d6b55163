import { mkdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import type { Fixture } from '../../testkit/fixture.ts'
import { ServiceProcess } from '../../testkit/service-process.ts'
import type { Stack } from '../../tools/stack/index.ts'
import { checkDlq, type DlqReport } from './dlq-check.ts'
import type { Rng } from './hostile.ts'
import { produceRetrying } from './produce-retrying.ts'
import type { KeyedRecord, ScaleWorkload } from './scale-workload.ts'
import { checkSinks, type SinkReport, waitForFeedback } from './sinks.ts'

export interface ScaleRunOptions {
  instances: number
  kills: number
  stops: number
  /** SIGKILL one broker of this stack once, restart it a few seconds later. Absent: no broker kill. */
  brokerStack?: Stack
  random: Rng
  /** One log file per instance (all its incarnations) is kept here. */
  runDir: string
  /** Shortest SIGSTOP: beyond the 10 s session timeout, so the group gives the frozen member's work away. */
  stopMs?: number
  /** The input is produced in this many slices, each once half the pairs owed so far are in PostgreSQL. */
  slices?: number
  timeoutMs?: number
  log?: (m: string) => void
}

export interface ChaosEvent {
  kind: 'kill' | 'stop' | 'broker'
  /** Instance index, or broker node id. */
  target: number
  /** subscribers_feedback rows when it happened, and ms since the instances started. */
  rows: number
  atMs: number
  /** SIGSTOP or broker downtime. */
  heldMs?: number
}

export interface ScaleRunReport {
  events: ChaosEvent[]
  kills: number
  stops: number
  brokerKills: number
  /** Exits nobody caused (the instance was restarted each time); their output tails are in the log files. */
  crashes: number
  /** Instance log lines about lost shards or fencing: a frozen instance coming back must be refused. */
  fencedLines: number
  sinks: SinkReport
  dlq: DlqReport
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
export async function scaleRun(fx: Fixture, w: ScaleWorkload, o: ScaleRunOptions): Promise<ScaleRunReport> {
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
  let brokerBack: Promise<void> = Promise.resolve()
  const plan = planEvents(o)
  const frozen = new Set<number>()
  try {
    const produced = produceInSlices(fx, w.records, o.slices ?? 8, timeoutMs)
    // Awaited after the events; marked handled now so an early failure does not end the process first.
    produced.catch(() => {})
    for (const p of plan) {
      const rows = await waitForFeedback(fx, Math.floor(p.fraction * w.expected.size), timeoutMs)
      const e: ChaosEvent = { kind: p.kind, target: p.target, rows, atMs: Date.now() - t0 }
      events.push(e)
      if (p.kind === 'kill') {
        busy.add(p.target)
        const result = await svcs[p.target]!.kill('SIGKILL')
        if (result.signal === 'SIGKILL') counts.kills++
        svcs[p.target]!.start()
        busy.delete(p.target)
      } else if (p.kind === 'stop') {
        const pid = svcs[p.target]!.pid!
        busy.add(p.target)
        frozen.add(pid)
        process.kill(pid, 'SIGSTOP')
        counts.stops++
        e.heldMs = p.holdMs
        await sleep(p.holdMs)
        process.kill(pid, 'SIGCONT')
        frozen.delete(pid)
        busy.delete(p.target)
      } else if (o.brokerStack) {
        await o.brokerStack.stopBroker(p.target, { hard: true })
        counts.brokerKills++
        e.heldMs = p.holdMs
        const stack = o.brokerStack
        brokerBack = sleep(p.holdMs).then(() => stack.startBroker(p.target))
        brokerBack.catch(() => {})
      }
      log(
        `${e.kind} ${e.kind === 'broker' ? 'node' : 'instance'} ${e.target} at ${rows}/${w.expected.size} rows${e.heldMs ? ` for ${e.heldMs} ms` : ''}`,
      )
    }
    await produced
    await brokerBack
    log(`input produced, chaos done after ${Math.round((Date.now() - t0) / 1000)} s; waiting for both sinks`)
    const sinks = await checkSinks(fx, w.expected, timeoutMs)
    const dlq = await checkDlq(fx, w.bad, timeoutMs)
    const elapsedMs = Date.now() - t0
    clearInterval(monitor)
    const stopped = await Promise.all(svcs.map(s => (s.running ? s.kill('SIGTERM') : { code: -1 })))
    const fencedLines = logFiles.flatMap(f => readFileSync(f, 'utf8').split('\n')).filter(l => /LEADERSHIP_LOST|fenced/i.test(l)).length
    return {
      events,
      ...counts,
      crashes,
      fencedLines,
      sinks,
      dlq,
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
  const r = o.random
  const kinds: Array<ChaosEvent['kind']> = [
    ...Array<ChaosEvent['kind']>(o.kills).fill('kill'),
    ...Array<ChaosEvent['kind']>(o.stops).fill('stop'),
    ...(o.brokerStack ? (['broker'] as const) : []),
  ]
  const fractions = kinds.map(() => 0.05 + r() * 0.8).sort((a, b) => a - b)
  const order = kinds.map(k => ({ k, u: r() })).sort((a, b) => a.u - b.u)
  const brokers = o.brokerStack?.brokers ?? 1
  return order.map(({ k }, i) => ({
    kind: k,
    target: k === 'broker' ? 1 + Math.floor(r() * brokers) : Math.floor(r() * o.instances),
    fraction: fractions[i]!,
    holdMs: k === 'stop' ? (o.stopMs ?? 12000) + Math.floor(r() * 4000) : k === 'broker' ? 5000 + Math.floor(r() * 5000) : 0,
  }))
}

/** Produces the records slice by slice, each slice once half the pairs owed by the earlier ones are in PostgreSQL. */
async function produceInSlices(fx: Fixture, records: KeyedRecord[], slices: number, timeoutMs: number): Promise<void> {
  const per = Math.ceil(records.length / slices)
  let owed = 0
  for (let k = 0; k * per < records.length; k++) {
    if (owed > 0) await waitForFeedback(fx, Math.floor(owed / 2), timeoutMs)
    const slice = records.slice(k * per, (k + 1) * per)
    const byKey = new Map<string, Array<Buffer | null>>()
    for (const r of slice) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r.value])
    for (const [key, values] of byKey) await produceRetrying(fx, values, key)
    owed += slice.reduce((n, r) => n + r.pairsNow, 0)
  }
}
