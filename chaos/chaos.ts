// npm run chaos -- [--scenario kill|kafka|postgres|feedback|broker|all] [--pushes N] [--kills N] [--down-ms MS] [--hard true] [--max-life-ms MS]
// Breaks things under a real workload and checks both sinks exactly against the expected pairs.
import { createFixture } from '../testkit/fixture.ts'
import { parseArgs, say, servicesFor } from './lib/args.ts'
import { brokerRun } from './lib/broker-run.ts'
import { feedbackKillRun } from './lib/feedback-kill-run.ts'
import { killRun } from './lib/kill-run.ts'
import { type Outage, restartRun } from './lib/restart-run.ts'
import { sinksExact } from './lib/sinks.ts'
import { buildWorkload } from './lib/workload.ts'

const args = parseArgs(
  process.argv.slice(2),
  { scenario: 'all', pushes: '100000', kills: '20', 'down-ms': '10000', hard: 'false', 'max-life-ms': '12000' },
  'usage: node chaos/chaos.ts [--scenario kill|kafka|postgres|feedback|broker|all] [--pushes 100000] [--kills 20] [--down-ms 10000] [--hard false] [--max-life-ms 12000]',
)
const pushes = Number(args.pushes)
// `broker` needs a 3-node cluster and runs alone; `all` keeps to the one-node scenarios.
const scenarios = args.scenario === 'all' ? ['kill', 'kafka', 'postgres', 'feedback'] : [args.scenario]
const needsOwn = scenarios.some(s => s === 'kafka' || s === 'postgres' || s === 'broker')
const stack = await servicesFor(needsOwn, say, scenarios.includes('broker') ? 3 : 1)
let failed = false
try {
  for (const s of scenarios) {
    // Small chunks and transactions so kills and outages land mid-transaction.
    const fx = await createFixture({
      OFFERSTREAM_FANOUT_CHUNK: '2000',
      OFFERSTREAM_RELAY_BATCH: '3000',
      // Feedback batches of 5 would make the intake of ~2.5 events per push crawl; 100 still gives hundreds of transactions per kill.
      OFFERSTREAM_INGEST_BATCH: s === 'feedback' ? '100' : '5',
      OFFERSTREAM_LOG_LEVEL: 'warn',
    })
    try {
      const w = buildWorkload({ pushes })
      say(`${s}: ${w.values.length} input values, ${w.expected.size} expected pairs`)
      const t0 = Date.now()
      let report: Record<string, unknown>
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
        const r = await killRun(fx, w, { kills: Number(args.kills), maxLifeMs: Number(args['max-life-ms']), log: say })
        report = { kills: r.kills, rowsAtKill: r.rowsAtKill, cleanExit: r.cleanExit, sinks: r.sinks }
        failed ||= r.kills !== Number(args.kills) || !r.cleanExit || !sinksExact(r.sinks)
      } else if (s === 'feedback') {
        // Feedback for every pair: ~2.5 events per push, plus retries and bad records.
        const opts = {
          kills: Number(args.kills),
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
        failed ||= r.kills !== Number(args.kills) || !r.cleanExit || !exact(r.events) || !exact(r.dlq) || r.wrongStages > 0
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
