// npm run chaos -- --scenario pg-failover [--sync] [--lag-ms 1500] [--pushes 400000] [--per-restaurant 2000] [--bad 20]
// npm run chaos -- [--scenario kill|kafka|postgres|feedback|broker|scale|all] [--pushes N] [--kills N] [--down-ms MS] [--hard true] [--max-life-ms MS]
//   scale only: [--instances 3] [--partitions 12] [--stops 2] [--seed N] [--run-dir DIR]
// Breaks things under a real workload and checks both sinks exactly against the expected pairs.
import os from 'node:os'
import path from 'node:path'
import { createFixture } from '../testkit/fixture.ts'
import { parseArgs, say, servicesFor } from './lib/args.ts'
import { brokerRun } from './lib/broker-run.ts'
import { dlqExact } from './lib/dlq-check.ts'
import { feedbackKillRun } from './lib/feedback-kill-run.ts'
import { rng } from './lib/hostile.ts'
import { killRun } from './lib/kill-run.ts'
import { pgFailoverScenario } from './lib/pg-failover-scenario.ts'
import { type Outage, restartRun } from './lib/restart-run.ts'
import { scaleRun } from './lib/scale-run.ts'
import { buildScaleWorkload } from './lib/scale-workload.ts'
import { sinksExact } from './lib/sinks.ts'
import { buildWorkload } from './lib/workload.ts'

const args = parseArgs(
  // --sync is a bare switch
  process.argv.slice(2).map(a => (a === '--sync' ? '--sync=true' : a)),
  {
    scenario: 'all',
    pushes: '',
    kills: '',
    'down-ms': '10000',
    hard: 'false',
    'max-life-ms': '12000',
    instances: '3',
    partitions: '12',
    stops: '2',
    seed: String(Date.now() % 1_000_000),
    'run-dir': '',
    sync: 'false',
    'lag-ms': '1500',
    'per-restaurant': '2000',
    bad: '20',
  },
  'usage: node chaos/chaos.ts [--scenario kill|kafka|postgres|feedback|broker|scale|pg-failover|all] [--pushes 100000 (scale: 300000)] [--kills 20 (scale: 6)] [--down-ms 10000] [--hard false] [--max-life-ms 12000] [--instances 3] [--partitions 12] [--stops 2] [--seed N] [--run-dir DIR] [--sync] [--lag-ms 1500] [--per-restaurant 2000] [--bad 20]',
)
if (args.scenario === 'pg-failover') {
  // Kafka from KAFKA_BROKERS (or an own stack); PostgreSQL is the scenario's own primary and replica.
  const own = await servicesFor(false, say)
  const ok = await pgFailoverScenario(args, say).finally(() => own?.stop())
  say(ok ? 'all guarantees held' : 'FAILED')
  process.exit(ok ? 0 : 1)
}
// `broker` and `scale` need a 3-node cluster and run alone; `all` keeps to the one-node scenarios.
const scenarios = args.scenario === 'all' ? ['kill', 'kafka', 'postgres', 'feedback'] : [args.scenario]
const needsOwn = scenarios.some(s => s === 'kafka' || s === 'postgres' || s === 'broker' || s === 'scale')
const stack = await servicesFor(needsOwn, say, scenarios.some(s => s === 'broker' || s === 'scale') ? 3 : 1)
let failed = false
try {
  for (const s of scenarios) {
    // Small chunks and transactions so kills and outages land mid-transaction.
    const pushes = Number(args.pushes || (s === 'scale' ? 300000 : 100000))
    const kills = Number(args.kills || (s === 'scale' ? 6 : 20))
    const fx = await createFixture({
      OFFERSTREAM_FANOUT_CHUNK: '2000',
      OFFERSTREAM_RELAY_BATCH: '3000',
      // Feedback batches of 5 would make the intake of ~2.5 events per push crawl; 100 still gives hundreds of transactions per kill.
      OFFERSTREAM_INGEST_BATCH: s === 'feedback' ? '100' : '5',
      // The scale run keeps each instance's log in a file: info shows its shards and fencing.
      OFFERSTREAM_LOG_LEVEL: s === 'scale' ? 'info' : 'warn',
      ...(s === 'scale' ? { OFFERSTREAM_TOPIC_PARTITIONS: args.partitions } : {}),
    })
    try {
      const t0 = Date.now()
      let report: Record<string, unknown>
      if (s === 'scale' && stack) {
        const random = rng(Number(args.seed))
        const w = buildScaleWorkload({ pushes, partitions: Number(args.partitions), random })
        const runDir = args['run-dir'] || path.join('.offerstream', 'chaos', `scale-${new Date().toISOString().replace(/[:.]/g, '-')}`)
        say(
          `scale: seed ${args.seed}, ${w.records.length} input records ${JSON.stringify(w.counts)}, ${w.expected.size} expected pairs; logs in ${runDir}`,
        )
        const r = await scaleRun(fx, w, {
          instances: Number(args.instances),
          kills,
          stops: Number(args.stops),
          brokerStack: stack,
          random,
          runDir,
          log: say,
        })
        const load = os.loadavg().map(l => Number(l.toFixed(1)))
        report = { ...r, logFiles: undefined, loadAverage: load }
        failed ||=
          !r.cleanExit ||
          !sinksExact(r.sinks) ||
          !dlqExact(r.dlq) ||
          r.kills !== kills ||
          r.stops !== Number(args.stops) ||
          r.brokerKills !== 1 ||
          r.crashes > 0 ||
          r.health?.underReplicated !== 0
        say(`instance logs: ${r.logFiles.join(' ')}`)
        const side = (t: typeof r.sinks.pg) =>
          `${t.total} rows, ${t.missing} missing, ${t.duplicated} duplicated, ${t.unexpected} unexpected`
        const cluster = `then ${r.health?.brokers} brokers, ${r.health?.underReplicated} partitions under-replicated`
        say(
          `scale summary: ${r.sinks.expected} expected pairs; subscribers_feedback ${side(r.sinks.pg)}; ` +
            `push_message (read_committed) ${side(r.sinks.kafka)}; DLQ ${r.dlq.received}/${w.bad.length} ` +
            `(${r.dlq.missing} missing, ${r.dlq.extra} extra); ${r.kills} SIGKILLs, ${r.stops} SIGSTOPs, ` +
            `${r.brokerKills} broker SIGKILL (${cluster}), ${r.crashes} crashes; ${Math.round(r.elapsedMs / 1000)} s; load average ${load.join(' ')}`,
        )
      } else {
        const w = buildWorkload({ pushes })
        say(`${s}: ${w.values.length} input values, ${w.expected.size} expected pairs`)
        if (s === 'broker' && stack) {
          const r = await brokerRun(stack, fx, w, { log: say })
          report = {
            killedNode: r.killedNode,
            rowsAtKill: r.rowsAtKill,
            survived: r.survived,
            resyncMs: r.resyncMs,
            health: r.health,
            cleanExit: r.cleanExit,
            sinks: r.sinks,
          }
          failed ||= !r.survived || !r.cleanExit || !sinksExact(r.sinks) || r.health.underReplicated > 0
          if (!r.survived || !sinksExact(r.sinks)) say(r.output.slice(-4000))
        } else if (s === 'kill') {
          const r = await killRun(fx, w, { kills, maxLifeMs: Number(args['max-life-ms']), log: say })
          report = { kills: r.kills, rowsAtKill: r.rowsAtKill, cleanExit: r.cleanExit, sinks: r.sinks }
          failed ||= r.kills !== kills || !r.cleanExit || !sinksExact(r.sinks)
        } else if (s === 'feedback') {
          // Feedback for every pair: ~2.5 events per push, plus retries and bad records.
          const opts = {
            kills,
            maxLifeMs: Number(args['max-life-ms']),
            nowSeconds: Math.floor(Date.now() / 1000),
            log: say,
          }
          const r = await feedbackKillRun(fx, w, opts)
          report = {
            kills: r.kills,
            rowsAtKill: r.rowsAtKill,
            cleanExit: r.cleanExit,
            events: r.events,
            dlq: r.dlq,
            wrongStages: r.wrongStages,
          }
          const exact = (t: typeof r.events) => t.missing + t.duplicated + t.unexpected === 0 && t.total === t.expected
          failed ||= r.kills !== kills || !r.cleanExit || !exact(r.events) || !exact(r.dlq) || r.wrongStages > 0
        } else {
          const r = await restartRun(stack!, fx, w, {
            outage: s as Outage,
            downMs: Number(args['down-ms']),
            hard: args.hard === 'true',
            log: say,
          })
          report = {
            survived: r.survived,
            downMs: r.downMs,
            rowsAtStop: r.rowsAtStop,
            retryWarnings: r.retryWarnings,
            warnings: r.warnings,
            cleanExit: r.cleanExit,
            sinks: r.sinks,
          }
          failed ||= !r.survived || !r.cleanExit || !sinksExact(r.sinks)
          if (!r.survived || !sinksExact(r.sinks)) say(r.output.slice(-4000))
        }
      }
      say(`${s} done in ${Math.round((Date.now() - t0) / 1000)} s: ${JSON.stringify(report)}`)
    } finally {
      await fx.cleanup()
    }
  }
} finally {
  await stack?.stop()
}
say(failed ? 'FAILED' : 'all guarantees held')
process.exit(failed ? 1 : 0)
