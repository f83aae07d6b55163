import type { Fixture } from '../../testkit/fixture.ts'
import { ServiceProcess } from '../../testkit/service-process.ts'
import { checkSinks, feedbackCount, type SinkReport } from '../../testkit/sinks.ts'
import type { Workload } from '../../testkit/workload.ts'

export interface KillRunOptions {
  kills: number
  /** Longest life of an incarnation before its SIGKILL, ms. */
  maxLifeMs?: number
  timeoutMs?: number
  log?: (m: string) => void
}

export interface KillRunReport {
  kills: number
  /** subscribers_feedback rows at each kill: shows the kills landed mid-run. */
  rowsAtKill: number[]
  sinks: SinkReport
  cleanExit: boolean
  output: string
}

/**
 * SIGKILLs `offerstream run` at random moments while the input is still arriving, restarts it each
 * time, then lets a last incarnation finish and checks both sinks against the workload's pairs.
 * A quarter of the kills come within the first second (startup, group join, rebalance); the rest
 * land in ingest, the PostgreSQL fan-out (INSERT … SELECT) or the relay's Kafka transaction.
 */
export async function killRun(fx: Fixture, w: Workload, o: KillRunOptions): Promise<KillRunReport> {
  const log = o.log ?? (() => {})
  const maxLife = o.maxLifeMs ?? 4000
  await fx.addSubscribers(w.subscribers)
  const slices = Math.max(1, o.kills)
  const per = Math.ceil(w.values.length / slices)
  const svc = new ServiceProcess(fx.config)
  const rowsAtKill: number[] = []
  let kills = 0
  for (let k = 0; k < o.kills; k++) {
    // Input keeps arriving between kills, so some kills hit ingest of fresh batches.
    const slice = w.values.slice(k * per, (k + 1) * per)
    if (slice.length) await fx.produce(slice)
    svc.start()
    const early = Math.random() < 0.25
    const life = early ? 100 + Math.random() * 900 : 1000 + Math.random() * (maxLife - 1000)
    await new Promise(r => setTimeout(r, life))
    const result = await svc.kill('SIGKILL')
    if (result.signal === 'SIGKILL') kills++
    else log(`incarnation ${k} had already exited: ${JSON.stringify(result)}\n${svc.output.slice(-3000)}`)
    const n = (await feedbackCount(fx)) ?? -1
    rowsAtKill.push(n)
    log(`kill ${k + 1}/${o.kills} after ${Math.round(life)} ms: ${n}/${w.expected.size} feedback rows`)
  }
  const rest = w.values.slice(o.kills * per)
  if (rest.length) await fx.produce(rest)
  svc.start()
  const sinks = await checkSinks(fx, w.expected, o.timeoutMs ?? 600000)
  const stopped = await svc.kill('SIGTERM')
  return { kills, rowsAtKill, sinks, cleanExit: stopped.code === 0, output: svc.output }
}
