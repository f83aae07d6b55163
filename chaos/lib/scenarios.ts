import os from 'node:os'
import path from 'node:path'
import { parseCap } from '../../src/core/frequency-cap.ts'
import type { Fixture } from '../../testkit/fixture.ts'
import { createRng } from '../../testkit/rng.ts'
import { sinksExact } from '../../testkit/sinks.ts'
import { buildKeyedWorkload, buildWorkload, type Workload } from '../../testkit/workload.ts'
import type { Stack } from '../../tools/stack/index.ts'
import { brokerRun } from './broker-run.ts'
import { type CapCheck, checkCaps } from './cap-check.ts'
import { buildControlsWorkload, checkControls, type PairCounts } from './controls-run.ts'
import { dlqExact } from './dlq-check.ts'
import { feedbackKillRun } from './feedback-kill-run.ts'
import { killRun } from './kill-run.ts'
import { type Outage, restartRun } from './restart-run.ts'
import { scaleRun } from './scale-run.ts'

// The scenarios of `npm run chaos`: each breaks one thing under a real workload and says whether
// every guarantee held. A new scenario is one more entry in SCENARIOS.

interface ChaosContext {
  fx: Fixture
  /** The scenario's own stack, when it asked for one (`ownStack`). */
  stack: Stack | undefined
  args: Record<string, string>
  pushes: number
  kills: number
  log: (m: string) => void
}

export interface ChaosScenario {
  /** Part of `--scenario all` (the one-node scenarios). */
  inAll: boolean
  /** Stops Kafka or PostgreSQL, so it needs a stack of its own, never the shared one; with `brokers` nodes. */
  ownStack?: { brokers: number }
  defaults?: { pushes?: number; kills?: number }
  /** Service settings on top of the chaos defaults (small chunks and transactions). */
  settings?: (args: Record<string, string>) => Record<string, string>
  run(c: ChaosContext): Promise<{ report: Record<string, unknown>; ok: boolean }>
}

/** The workload of the one-service scenarios: seeded by --seed, logged with its size. */
function workloadFor(c: ChaosContext, name: string): Workload {
  const w = buildWorkload({ pushes: c.pushes, rng: createRng(Number(c.args.seed)) })
  c.log(`${name}: seed ${c.args.seed}, ${w.values.length} input values, ${w.expected.size} expected pairs`)
  return w
}

const kill: ChaosScenario = {
  inAll: true,
  async run(c) {
    const r = await killRun(c.fx, workloadFor(c, 'kill'), { kills: c.kills, maxLifeMs: Number(c.args['max-life-ms']), log: c.log })
    return {
      report: { kills: r.kills, rowsAtKill: r.rowsAtKill, cleanExit: r.cleanExit, sinks: r.sinks },
      ok: r.kills === c.kills && r.cleanExit && sinksExact(r.sinks),
    }
  },
}

function outage(which: Outage): ChaosScenario {
  return {
    inAll: true,
    ownStack: { brokers: 1 },
    async run(c) {
      const r = await restartRun(c.stack!, c.fx, workloadFor(c, which), {
        outage: which,
        downMs: Number(c.args['down-ms']),
        hard: c.args.hard === 'true',
        log: c.log,
      })
      if (!r.survived || !sinksExact(r.sinks)) c.log(r.output.slice(-4000))
      const { survived, downMs, rowsAtStop, retryWarnings, warnings, cleanExit, sinks } = r
      return {
        report: { survived, downMs, rowsAtStop, retryWarnings, warnings, cleanExit, sinks },
        ok: survived && cleanExit && sinksExact(sinks),
      }
    },
  }
}

const feedback: ChaosScenario = {
  inAll: true,
  // Feedback batches of 5 would make the intake of ~2.5 events per push crawl; 100 still gives hundreds of transactions per kill.
  settings: () => ({ OFFERSTREAM_INGEST_BATCH: '100' }),
  async run(c) {
    // Feedback for every pair: ~2.5 events per push, plus retries and bad records.
    const opts = { kills: c.kills, maxLifeMs: Number(c.args['max-life-ms']), nowSeconds: Math.floor(Date.now() / 1000), log: c.log }
    const r = await feedbackKillRun(c.fx, workloadFor(c, 'feedback'), opts)
    const { kills, rowsAtKill, cleanExit, events, dlq, wrongStages } = r
    const exact = (t: typeof events) => t.missing + t.duplicated + t.unexpected === 0 && t.total === t.expected
    return {
      report: { kills, rowsAtKill, cleanExit, events, dlq, wrongStages },
      ok: kills === c.kills && cleanExit && exact(events) && exact(dlq) && wrongStages === 0,
    }
  },
}

const broker: ChaosScenario = {
  inAll: false,
  ownStack: { brokers: 3 },
  async run(c) {
    const r = await brokerRun(c.stack!, c.fx, workloadFor(c, 'broker'), { log: c.log })
    if (!r.survived || !sinksExact(r.sinks)) c.log(r.output.slice(-4000))
    const { killedNode, rowsAtKill, survived, resyncMs, health, cleanExit, sinks } = r
    return {
      report: { killedNode, rowsAtKill, survived, resyncMs, health, cleanExit, sinks },
      ok: survived && cleanExit && sinksExact(sinks) && health.underReplicated === 0,
    }
  },
}

const scale: ChaosScenario = {
  inAll: false,
  ownStack: { brokers: 3 },
  defaults: { pushes: 300000, kills: 6 },
  // Each instance's log is kept in a file: info shows its shards and fencing.
  settings: args => ({ OFFERSTREAM_LOG_LEVEL: 'info', OFFERSTREAM_TOPIC_PARTITIONS: args.partitions! }),
  async run(c) {
    const rng = createRng(Number(c.args.seed))
    const w = buildKeyedWorkload({ pushes: c.pushes, partitions: Number(c.args.partitions), rng })
    const runDir = c.args['run-dir'] || path.join('.offerstream', 'chaos', `scale-${new Date().toISOString().replace(/[:.]/g, '-')}`)
    c.log(
      `scale: seed ${c.args.seed}, ${w.records.length} input records ${JSON.stringify(w.counts)}, ${w.expected.size} expected pairs; logs in ${runDir}`,
    )
    const stops = Number(c.args.stops)
    const r = await scaleRun(c.fx, w, {
      instances: Number(c.args.instances),
      kills: c.kills,
      stops,
      brokerStack: c.stack,
      rng,
      runDir,
      log: c.log,
    })
    const load = os.loadavg().map(l => Number(l.toFixed(1)))
    c.log(`instance logs: ${r.logFiles.join(' ')}`)
    const side = (t: typeof r.sinks.pg) => `${t.total} rows, ${t.missing} missing, ${t.duplicated} duplicated, ${t.unexpected} unexpected`
    const cluster = `then ${r.health?.brokers} brokers, ${r.health?.underReplicated} partitions under-replicated`
    c.log(
      `scale summary: ${r.sinks.expected} expected pairs; subscribers_feedback ${side(r.sinks.pg)}; ` +
        `push_message (read_committed) ${side(r.sinks.kafka)}; DLQ ${r.dlq.received}/${w.bad.length} ` +
        `(${r.dlq.missing} missing, ${r.dlq.extra} extra); ${r.kills} SIGKILLs, ${r.stops} SIGSTOPs, ` +
        `${r.brokerKills} broker SIGKILL (${cluster}), ${r.crashes} crashes; ${Math.round(r.elapsedMs / 1000)} s; load average ${load.join(' ')}`,
    )
    const ok =
      r.cleanExit &&
      sinksExact(r.sinks) &&
      dlqExact(r.dlq) &&
      r.kills === c.kills &&
      r.stops === stops &&
      r.brokerKills === 1 &&
      r.crashes === 0
    return { report: { ...r, logFiles: undefined, loadAverage: load }, ok: ok && r.health?.underReplicated === 0 }
  },
}

// Issue 17: cancels and updates mixed into the scale scenario's stream, 3 instances, SIGKILLs and
// SIGSTOPs (no broker kill: the shared stack will do). The oracle (controls-run.ts) knows from the
// input which pairs must, may and must not exist. With --cap N/DURATION, the frequency cap is on and
// a pair may be suppressed instead (offerstream_suppressed, if that release has it).
const controls: ChaosScenario = {
  inAll: false,
  defaults: { pushes: 60000, kills: 4 },
  settings: args => ({
    OFFERSTREAM_LOG_LEVEL: 'info',
    OFFERSTREAM_TOPIC_PARTITIONS: args.partitions!,
    ...(args.cap ? { OFFERSTREAM_FREQUENCY_CAP: args.cap } : {}),
  }),
  async run(c) {
    const rng = createRng(Number(c.args.seed))
    const w = buildControlsWorkload({ pushes: c.pushes, partitions: Number(c.args.partitions), rng })
    const kinds: Record<string, number> = {}
    for (const k of w.plan.values()) kinds[k] = (kinds[k] ?? 0) + 1
    const runDir = c.args['run-dir'] || path.join('.offerstream', 'chaos', `controls-${new Date().toISOString().replace(/[:.]/g, '-')}`)
    c.log(
      `controls: seed ${c.args.seed}, ${w.records.length} input records, ${JSON.stringify(kinds)}, ${w.expected.size} pairs that must exist`,
    )
    const stops = Number(c.args.stops)
    let extra: { cancelledPushed: number; pairs?: PairCounts; why?: Record<string, number> } = { cancelledPushed: 0 }
    const r = await scaleRun(c.fx, w, {
      instances: Number(c.args.instances),
      kills: c.kills,
      stops,
      rng,
      runDir,
      log: c.log,
      checkSinks: async ms => {
        const report = await checkControls(c.fx, w, ms)
        extra = report
        return report
      },
    })
    // With a cap on: no client over it in any window (both sinks hold the same pairs, checked above).
    const cap = c.args.cap ? parseCap(c.args.cap) : undefined
    const caps: CapCheck | undefined =
      cap && 'cap' in cap && cap.cap ? await checkCaps(c.fx, { frequency: cap.cap, restaurant: null }) : undefined
    const load = os.loadavg().map(l => Number(l.toFixed(1)))
    const ok =
      r.cleanExit &&
      sinksExact(r.sinks) &&
      dlqExact(r.dlq) &&
      r.kills === c.kills &&
      r.stops === stops &&
      r.crashes === 0 &&
      (caps?.overCap ?? 0) === 0
    return {
      report: {
        plan: kinds,
        caps,
        // The oracle's extras (pairs, cancelledPushed, why) are listed on their own below, once.
        sinks: { expected: r.sinks.expected, pg: r.sinks.pg, kafka: r.sinks.kafka },
        pairs: extra.pairs,
        cancelledPairsPushed: extra.cancelledPushed,
        unexpectedWhy: extra.why,
        dlq: r.dlq,
        events: r.events,
        kills: r.kills,
        stops: r.stops,
        crashes: r.crashes,
        warnings: r.warnings,
        elapsedMs: r.elapsedMs,
        loadAverage: load,
      },
      ok,
    }
  },
}

export const SCENARIOS: Record<string, ChaosScenario> = {
  kill,
  kafka: outage('kafka'),
  postgres: outage('postgres'),
  feedback,
  broker,
  scale,
  controls,
}
