import pg from 'pg'
import { createFixture } from '../../testkit/fixture.ts'
import { startPgPair } from '../../testkit/pg-pair.ts'
import { ServiceProcess } from '../../testkit/service-process.ts'
import { feedbackCount, type SinkReport, verifySinks, waitForFeedback } from '../../testkit/sinks.ts'
import { startTcpProxy } from '../../testkit/tcp-proxy.ts'
import { buildWorkload } from '../../testkit/workload.ts'
import { checkDlq, type DlqReport } from './dlq-check.ts'

export interface PgFailoverOptions {
  /** Synchronous replication: the primary's commits wait for the replica. */
  sync: boolean
  /** How long the replica receives no WAL before the primary is killed; 0: it keeps up. */
  lagMs: number
  pushes: number
  subscribersPerRestaurant: number
  /** Rejected input records (half before, half during the lag): the DLQ must hold each once. */
  bad: number
  /** Service settings (chunk and batch sizes). */
  settings?: Record<string, string>
  timeoutMs?: number
  log?: (m: string) => void
  /** Every service incarnation's output is appended here. */
  logFile?: string
}

export interface PgFailoverReport {
  mode: string
  /** At the kill: WAL bytes the replica had not flushed, and rows each side had. */
  atKill: { walBytesBehind: number; primaryRows: number | null; replicaRows: number | null }
  sinks: SinkReport
  dlq: DlqReport
  /** Exit codes of the incarnations that ended on their own (a supervisor restarted each). */
  exits: Array<number | null>
  /** The service's error lines naming the regression, and its repair summary. */
  regressionErrors: string[]
  repair: { repairMs: number; restored: unknown } | null
  /** From the kill until every expected pair was in both sinks. */
  recoveryMs: number
}

async function count(port: number, sql: string): Promise<number | null> {
  const c = new pg.Client({ connectionString: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`, connectionTimeoutMillis: 3000 })
  c.on('error', () => {})
  try {
    await c.connect()
    return (await c.query(sql)).rows[0].n
  } catch {
    return null
  } finally {
    await c.end().catch(() => {})
  }
}

/**
 * Issue 20: the service's PostgreSQL is a primary with a streaming replica behind a TCP proxy (its
 * DATABASE_URL). Mid-fan-out of a backlog, the replica gets no WAL for `lagMs` while the
 * rest of the input arrives, the primary is SIGKILLed, the replica promoted and the proxy switched
 * to it. A supervisor restarts the service whenever it exits. The oracle is the input alone: both
 * sinks must hold every expected pair once and the DLQ every bad record once.
 */
export async function pgFailoverRun(o: PgFailoverOptions): Promise<PgFailoverReport> {
  const log = o.log ?? (() => {})
  const mode = o.sync ? 'synchronous' : o.lagMs > 0 ? `asynchronous, replica ${o.lagMs} ms behind` : 'asynchronous, replica in step'
  const pair = await startPgPair({ sync: o.sync, log })
  const proxy = await startTcpProxy('127.0.0.1', pair.primaryPort)
  const fx = await createFixture({
    ...o.settings,
    DATABASE_URL: `postgres://postgres:postgres@127.0.0.1:${proxy.port}/postgres`,
    OFFERSTREAM_LOG_LEVEL: 'warn',
  })
  const svc = new ServiceProcess(fx.config, o.logFile ? { logFile: o.logFile } : {})
  const exits: Array<number | null> = []
  let supervising = true
  let started = false
  let allOutput = ''
  const supervisor = (async () => {
    while (supervising) {
      await new Promise(r => setTimeout(r, 200))
      if (!supervising || !started || svc.running) continue
      allOutput += svc.output
      svc.output = ''
      const r = await svc.kill('SIGKILL')
      exits.push(r.code)
      log(`service exited with code ${r.code}; restarting it`)
      if (supervising) svc.start()
    }
  })()
  try {
    const w = buildWorkload({ pushes: o.pushes, subscribersPerRestaurant: o.subscribersPerRestaurant, resends: 2 })
    const bad = Array.from({ length: o.bad }, (_, i) => Buffer.from(`not json ${i} ${Math.random()}`))
    await fx.addSubscribers(w.subscribers)
    const half = Math.ceil(w.values.length / 2)
    await fx.produce([...w.values.slice(0, half), ...bad.slice(0, o.bad / 2).map(b => b.toString())])
    svc.start()
    started = true
    await waitForFeedback(fx, Math.ceil(w.expected.size / 5), o.timeoutMs ?? 600_000)
    if (o.lagMs > 0 || o.sync) pair.freezeReplica()
    const t0 = Date.now()
    // The rest of the input arrives while the replica is behind: events stored and offsets committed in the window.
    await fx.produce([...w.values.slice(half), ...bad.slice(o.bad / 2).map(b => b.toString())])
    await new Promise(r => setTimeout(r, Math.max(0, o.lagMs - (Date.now() - t0))))
    const lag = await pair.lag().catch(() => ({ bytes: Number.NaN }))
    const primaryRows = await count(pair.primaryPort, 'select count(*)::int as n from subscribers_feedback')
    const replicaRows = await count(pair.replicaPort, 'select count(*)::int as n from subscribers_feedback')
    pair.killPrimary()
    const killedAt = Date.now()
    log(`${mode}: primary killed with ${primaryRows} rows, replica had ${replicaRows} (${lag.bytes} WAL bytes behind)`)
    await pair.promote()
    proxy.retarget(pair.replicaPort)
    log(`replica promoted and the proxy switched ${Date.now() - killedAt} ms after the kill`)
    // Until every pair is in PostgreSQL, or nothing changed for 30 s: a service that lost events for
    // good (no repair) never gets there, and its result is what it settled on.
    const deadline = Date.now() + (o.timeoutMs ?? 600_000)
    for (let last = -1, since = Date.now(); Date.now() < deadline; await new Promise(r => setTimeout(r, 500))) {
      const n = (await feedbackCount(fx)) ?? last
      if (n >= w.expected.size) break
      if (n !== last) [last, since] = [n, Date.now()]
      else if (Date.now() - since > 30_000) break
    }
    const recoveryMs = Date.now() - killedAt
    const pushes = await fx.readTopic(fx.config.outputTopic, { atLeast: w.expected.size, timeoutMs: 180_000, settleMs: 5000 })
    const sinks = await verifySinks(fx.pool, pushes, w.expected)
    const dlq = await checkDlq(fx, bad, 60_000)
    supervising = false
    await supervisor
    if (svc.running) await svc.kill('SIGTERM')
    allOutput += svc.output
    const regressionErrors = allOutput.split('\n').filter(l => /PG_REGRESSION/.test(l))
    const handled = allOutput.split('\n').find(l => /PostgreSQL regression handled/.test(l))
    const repair = handled ? (({ repairMs, restored }) => ({ repairMs, restored }))(JSON.parse(handled)) : null
    return {
      mode,
      atKill: { walBytesBehind: lag.bytes, primaryRows, replicaRows },
      sinks,
      dlq,
      exits,
      regressionErrors,
      repair,
      recoveryMs,
    }
  } finally {
    supervising = false
    await supervisor
    if (svc.running) await svc.kill('SIGKILL')
    await fx.cleanup().catch(() => {})
    await proxy.close()
    await pair.close()
  }
}
