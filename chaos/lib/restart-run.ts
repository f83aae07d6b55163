import type { Fixture } from '../../testkit/fixture.ts'
import { ServiceProcess } from '../../testkit/service-process.ts'
import { checkSinks, type SinkReport, waitForFeedback } from '../../testkit/sinks.ts'
import type { Workload } from '../../testkit/workload.ts'
import type { Stack } from '../../tools/stack/index.ts'
import { produceRetrying } from './produce-retrying.ts'

export type Outage = 'kafka' | 'postgres'

export interface RestartRunOptions {
  outage: Outage
  downMs?: number
  /** Stop the service's dependency like a crash (SIGKILL) instead of a clean shutdown. */
  hard?: boolean
  timeoutMs?: number
  log?: (m: string) => void
}

export interface RestartRunReport {
  outage: Outage
  /** The service process never exited on its own: it rode out the outage. */
  survived: boolean
  rowsAtStop: number
  downMs: number
  retryWarnings: number
  /** Distinct warning messages (msg: code) with counts: what an operator would see. */
  warnings: Record<string, number>
  sinks: SinkReport
  cleanExit: boolean
  output: string
}

/**
 * One service process runs the workload; when a quarter of the pairs are in PostgreSQL, Kafka or
 * PostgreSQL is stopped for `downMs` and started again, while the second half of the input is
 * produced after the restart. The service must recover by itself, then both sinks are checked.
 */
export async function restartRun(stack: Stack, fx: Fixture, w: Workload, o: RestartRunOptions): Promise<RestartRunReport> {
  const log = o.log ?? (() => {})
  const downMs = o.downMs ?? 10000
  await fx.addSubscribers(w.subscribers)
  const half = Math.ceil(w.values.length / 2)
  await fx.produce(w.values.slice(0, half))
  const svc = new ServiceProcess(fx.config)
  svc.start()
  const rowsAtStop = await waitForFeedback(fx, Math.ceil(w.expected.size / 4), 120000)
  log(`${rowsAtStop}/${w.expected.size} rows: stopping ${o.outage}${o.hard ? ' (hard)' : ''} for ${downMs} ms`)
  const t0 = Date.now()
  if (o.outage === 'kafka') await stack.stopKafka({ hard: o.hard })
  else await stack.stopPostgres({ hard: o.hard })
  await new Promise(r => setTimeout(r, Math.max(0, downMs - (Date.now() - t0))))
  if (o.outage === 'kafka') await stack.startKafka()
  else await stack.startPostgres()
  const down = Date.now() - t0
  log(`${o.outage} back after ${down} ms; service running: ${svc.running}`)
  await produceRetrying(fx, w.values.slice(half))
  // A dead service will not finish: check quickly instead of waiting out the full timeout.
  const sinks = await checkSinks(fx, w.expected, svc.running ? (o.timeoutMs ?? 300000) : 5000)
  const survived = svc.running
  const stopped = survived ? await svc.kill('SIGTERM') : { code: -1 }
  const retryWarnings = (svc.output.match(/retrying|rebuilding/g) ?? []).length
  const warnings: Record<string, number> = {}
  for (const line of svc.output.split('\n')) {
    const m = /"code":"(\w+)".*"msg":"([^"]+)"/.exec(line)
    if (m) warnings[`${m[2]}: ${m[1]}`] = (warnings[`${m[2]}: ${m[1]}`] ?? 0) + 1
  }
  return {
    outage: o.outage,
    survived,
    rowsAtStop,
    downMs: down,
    retryWarnings,
    warnings,
    sinks,
    cleanExit: stopped.code === 0,
    output: svc.output,
  }
}
