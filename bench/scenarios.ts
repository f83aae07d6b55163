import { createRng } from '../testkit/rng.ts'
import type { Services } from './bench-env.ts'
import { printTable, writeResult } from './report.ts'
import { runBigFanout } from './scenario-big-fanout.ts'
import { runBound } from './scenario-bound.ts'
import { runColdStart } from './scenario-cold-start.ts'
import { type LatencyOptions, runLatency } from './scenario-latency.ts'
import { runScale, scaleBoundLine, scaleRows } from './scenario-scale.ts'
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
      throughput: c.throughputOptions,
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
    for (const l of r.latency)
      printTable(
        `7. scaling: latency with ${l.options.instances} instances × ${cpu} cores, ${l.options.perSecond} campaigns/s for ${l.options.seconds} s, load avg ${l.load} (ms from campaign produced)`,
        latencyRows(l),
      )
    c.save('scale', r)
  },
}

export const BENCH_SCENARIOS: BenchScenario[] = [latency, throughputAndBound, txFloor, coldStart, bigFanout, scale]

export function saver(stamp: string, machine: object, seed: number) {
  return (name: string, data: object) => writeResult(name, stamp, { machine, seed, ...data })
}
