import { mkdirSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { sinksExact } from '../../testkit/sinks.ts'
import { dlqExact } from './dlq-check.ts'
import { pgFailoverRun } from './pg-failover-run.ts'

/** `npm run chaos -- --scenario pg-failover [--sync] [--lag-ms 1500] [--pushes 400000]`: one run; true when every guarantee held. */
export async function pgFailoverScenario(
  a: { sync: string; 'lag-ms': string; pushes: string; 'per-restaurant': string; bad: string },
  say: (m: string) => void,
): Promise<boolean> {
  const sync = a.sync === 'true' || a.sync === ''
  const t0 = Date.now()
  const dir = path.join('.offerstream', 'chaos')
  mkdirSync(dir, { recursive: true })
  const logFile = path.join(dir, `pg-failover-${new Date().toISOString().replace(/[:.]/g, '-')}.log`)
  say(`service logs in ${logFile}`)
  const r = await pgFailoverRun({
    logFile,
    sync,
    lagMs: Number(a['lag-ms']),
    pushes: Number(a.pushes || 400000),
    subscribersPerRestaurant: Number(a['per-restaurant']),
    bad: Number(a.bad),
    // Mid-sized chunks and transactions, so the kill lands inside a fan-out and a relay transaction.
    settings: { OFFERSTREAM_FANOUT_CHUNK: '2000', OFFERSTREAM_RELAY_BATCH: '3000', OFFERSTREAM_INGEST_BATCH: '20' },
    log: say,
  })
  const load = os.loadavg().map(l => Number(l.toFixed(1)))
  const side = (t: typeof r.sinks.pg) => `${t.total} rows, ${t.missing} missing, ${t.duplicated} duplicated, ${t.unexpected} unexpected`
  say(
    `pg-failover (${r.mode}): ${r.sinks.expected} expected pairs; subscribers_feedback ${side(r.sinks.pg)}; push_message (read_committed) ${side(r.sinks.kafka)}; ` +
      `DLQ ${r.dlq.received} (${r.dlq.missing} missing, ${r.dlq.extra} extra); at the kill: primary ${r.atKill.primaryRows} rows, replica ${r.atKill.replicaRows}, ` +
      `${r.atKill.walBytesBehind} WAL bytes behind; exits ${JSON.stringify(r.exits)}; regression errors logged: ${r.regressionErrors.length}; ` +
      `repair ${JSON.stringify(r.repair)}; all pairs in both sinks ${Math.round(r.recoveryMs / 1000)} s after the kill; run ${Math.round((Date.now() - t0) / 1000)} s; load average ${load.join(' ')}`,
  )
  for (const line of r.regressionErrors.slice(0, 6)) say(`  service: ${line.slice(0, 600)}`)
  return sinksExact(r.sinks) && dlqExact(r.dlq)
}
