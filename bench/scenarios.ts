import { createRng } from '../testkit/rng.ts'
import type { Services } from './bench-env.ts'
import { printTable, writeResult } from './report.ts'
import { runBigFanout } from './scenario-big-fanout.ts'
import { runBound } from './scenario-bound.ts'
import { runCancel } from './scenario-cancel.ts'
import { runColdStart } from './scenario-cold-start.ts'
import { type LatencyOptions, runLatency } from './scenario-latency.ts'
import { runScale, scaleBoundLine, scaleRows } from './scenario-scale.ts'
import { runSmallDuringBig } from './scenario-small-during-big.ts'
import { runThroughput, type ThroughputOptions } from './scenario-throughput.ts'
import { runTxFloor, txFloorRows } from './scenario-tx-floor.ts'
import { type BenchResults, latencyRows } from './tables.ts'

// The scenarios of `npm run bench`, in the order they run. Each prints its tables, writes its JSON
// under bench/results/ and files its result for the summary. A new scenario is one more entry.

type Sized<T> = Omit<T, 'instances' | 'cpuPerInstance'>

export interface BenchContext {
  services: Services
  seed: number
  quick: boolean
  /** The command line's values (see HELP in main.ts). */
  args: { readonly [flag: string]: unknown; rates?: string; big?: string; instances?: string }
  serviceEnv: Record<string, string>
  nodeArgs: string[]
  latencyOptions(perSecond: number): Sized<LatencyOptions>
  throughputOptions: Sized<ThroughputOptions>
  cpuPerInstance: number
  results: BenchResults & Record<string, unknown>
  /** Writes one scenario's JSON (with the machine and seed) under bench/results/; returns the path. */
  save(name: string, data: object): string
}

interface BenchScenario {
  /** --only names that select it. */
  names: string[]
  run(c: BenchContext, only: Set<string>): Promise<void>
}

const single = { instances: 1, cpuPerInstance: undefined }

const latency: BenchScenario = {
  names: ['latency'],
  async run(c) {
    // Each rate in its own environment: a quiet rate shows the fixed waits, a busy one the queueing.
    const runs = []
    for (const perSecond of (c.args.rates ?? '1,10,100,300').split(',').map(Number)) {
      const r = await runLatency(c.services, createRng(c.seed), { ...c.latencyOptions(perSecond), ...single })
      runs.push(r)
      printTable(
        `1. latency: ${r.options.perSecond} campaigns/s for ${r.options.seconds} s, ${r.expectedPushes.toLocaleString('en-US')} pushes (ms from campaign produced)`,
        latencyRows(r),
      )
      c.save(`latency-${perSecond}`, r)
    }
    c.results.latency = runs
  },
}

const throughputAndBound: BenchScenario = {
  names: ['throughput', 'bound'],
  async run(c, only) {
    const t = await runThroughput(c.services, createRng(c.seed + 1), { ...c.throughputOptions, ...single })
    c.results.throughput = t.result
    c.save('throughput', t.result)
    if (!only.has('bound')) return
    const b = await runBound(c.services, t, c.serviceEnv)
    c.results.bound = b
    c.save('bound', b)
  },
}

const txFloor: BenchScenario = {
  names: ['txfloor'],
  async run(c) {
    const r = await runTxFloor(c.services, c.quick ? 10 : 30)
    c.results.txFloor = r
    printTable('5. Kafka transaction floor at 1 transaction/s (ms)', txFloorRows(r))
    c.save('txfloor', r)
  },
}

const coldStart: BenchScenario = {
  names: ['coldstart'],
  async run(c) {
    const r = await runColdStart(c.services, createRng(c.seed + 3), c.quick ? 3 : 5)
    c.results.coldStart = r
    printTable('6. cold start: `offerstream run` → (ms)', [
      { to: "'offerstream running' logged", ...r.toRunningMs },
      { to: 'first push of a waiting campaign visible in Kafka', ...r.toFirstPushMs },
    ])
    c.save('coldstart', r)
  },
}

const bigFanout: BenchScenario = {
  names: ['bigfanout'],
  async run(c) {
    const subscribers = Number(c.args.big ?? (c.quick ? 100000 : 1000000))
    const r = await runBigFanout(c.services, createRng(c.seed + 2), subscribers, c.serviceEnv, c.nodeArgs)
    c.results.bigFanout = r
    c.save('bigfanout', r)
  },
}

const scale: BenchScenario = {
  names: ['scale'],
  async run(c) {
    const cpu = c.cpuPerInstance
    const counts = (c.args.instances ?? '1,2,3').split(',').map(Number)
    if (!counts.every(n => Number.isInteger(n) && n >= 1))
      throw new Error(`--instances must list whole numbers ≥ 1, got ${c.args.instances}`)
    const r = await runScale(c.services, {
      instances: counts,
      cpuPerInstance: cpu,
      // Warm instances, as in a long-running deployment: each start-up's JIT and heap growth cost
      // ~0.1-0.3 CPU-s (docs/scaling.md), a cost N instances pay N times within a short window.
      throughput: {
        ...c.throughputOptions,
        warmPushes: c.args['warm-pushes'] === undefined ? Math.ceil(c.throughputOptions.pushes / 3) : c.throughputOptions.warmPushes,
      },
      latency: (c.args.rates ?? '100').split(',').map(n => c.latencyOptions(Number(n))),
      seed: c.seed,
      bound: c.results.bound,
    })
    c.results.scale = r
    printTable(
      `7. scaling: throughput, ${r.runs[0]!.expectedPushes.toLocaleString('en-US')} pushes, N instances each capped at ${cpu} cores`,
      scaleRows(r),
    )
    process.stdout.write(`\n${scaleBoundLine(r)}\n`)
    printTable(
      '7. scaling: PostgreSQL client backends by state / wait event, average over the window (pg_stat_activity every 50 ms)',
      r.runs.flatMap(x => Object.entries(x.pgWaits).map(([what, n]) => ({ instances: x.instances, 'state / wait': what, backends: n }))),
    )
    for (const l of r.latency)
      printTable(
        `7. scaling: latency with ${l.options.instances} instances × ${cpu} cores, ${l.options.perSecond} campaigns/s for ${l.options.seconds} s, load avg ${l.load} (ms from campaign produced)`,
        latencyRows(l),
      )
    c.save('scale', r)
  },
}

const cancel: BenchScenario = {
  names: ['cancel'],
  async run(c) {
    // Mid-way through a fan-out to --big subscribers (1,000,000; --quick 200,000), 5 runs.
    const subscribers = Number(c.args.big ?? (c.quick ? 200000 : 1000000))
    const r = await runCancel(c.services, createRng(c.seed + 4), { subscribers, runs: 5, serviceEnv: c.serviceEnv, nodeArgs: c.nodeArgs })
    c.results.cancel = r
    printTable(
      `8. cancel-to-stop: cancel produced mid-way through a ${subscribers.toLocaleString('en-US')}-subscriber fan-out, chunk ${r.chunk}, load avg ${r.load} (ms)`,
      [
        ...r.runs.map((x, i) => ({
          run: i + 1,
          'produce → last push committed': x.stopMs,
          'produce → cancel seen committed': x.cancelSeenMs,
          'pushed before': x.pushedBefore,
          'rows after the cancel': x.lateRows,
          'chunk commit gap p50/max': `${x.chunkGapMs.p50}/${x.chunkGapMs.max}`,
        })),
        { run: 'p50/p99', 'produce → last push committed': `${r.stopMs.p50}/${r.stopMs.p99}` },
      ],
    )
    c.save('cancel', r)
  },
}

const smallBig: BenchScenario = {
  names: ['smallbig'],
  async run(c) {
    // 20-subscriber campaigns at 10/s, alone, then during a fan-out to --big subscribers (1,000,000; --quick 200,000).
    const r = await runSmallDuringBig(c.services, createRng(c.seed + 4), {
      big: Number(c.args.big ?? (c.quick ? 200000 : 1000000)),
      perSecond: 10,
      aloneSeconds: c.quick ? 10 : 30,
      smallSubscribers: 20,
      serviceEnv: c.serviceEnv,
      nodeArgs: c.nodeArgs,
    })
    c.results.smallDuringBig = r
    const pct = (label: string, x: { n: number; p50: number; p99: number; max: number }) => ({
      'small campaigns': label,
      n: x.n,
      p50: x.p50,
      p99: x.p99,
      max: x.max,
    })
    printTable(
      `9. small campaigns (20 subscribers, 10/s): produce → last push visible (ms), alone and while ${r.big.subscribers.toLocaleString('en-US')} subscribers fan out (Kafka ${r.big.kafkaSeconds.toFixed(1)} s, PostgreSQL ${r.big.pgSeconds.toFixed(1)} s); exact: ${r.exact}; load avg ${r.loadDuring.map(l => l.toFixed(1)).join(' → ')}; the bench's event loop delay during: p99 ${r.benchLoopDelayMs.p99}, max ${r.benchLoopDelayMs.max} ms`,
      [
        pct('Kafka, alone', r.kafka.alone),
        pct('Kafka, during', r.kafka.during),
        pct("Kafka, during, big one's shard", r.kafka.duringSameShard),
        pct('Kafka, during, other shards', r.kafka.duringOtherShards),
        pct('PostgreSQL, alone', r.pg.alone),
        pct('PostgreSQL, during', r.pg.during),
      ],
    )
    c.save('smallbig', r)
  },
}

export const BENCH_SCENARIOS: BenchScenario[] = [latency, throughputAndBound, txFloor, coldStart, bigFanout, scale, cancel, smallBig]

export function saver(stamp: string, machine: object, seed: number) {
  return (name: string, data: object) => writeResult(name, stamp, { machine, seed, ...data })
}
