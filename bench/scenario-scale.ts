import os from 'node:os'
import { createRng } from '../testkit/rng.ts'
import type { Services } from './bench-env.ts'
import { createCpuCgroup, removeLeftoverCgroups } from './cpu-cgroup.ts'
import type { Row } from './report.ts'
import { runBound } from './scenario-bound.ts'
import { type LatencyOptions, runLatency } from './scenario-latency.ts'
import { runThroughput, type ThroughputOptions, type ThroughputRun } from './scenario-throughput.ts'

type Shared = 'instances' | 'cpuPerInstance'

export interface ScaleOptions {
  instances: number[]
  cpuPerInstance: number
  throughput: Omit<ThroughputOptions, Shared>
  /** One latency run per rate, with the largest instance count. */
  latency: Array<Omit<LatencyOptions, Shared>>
  seed: number
  /** The bound scenario's result when it already ran on the same workload (same seed and sizes) in this run. */
  bound?: Awaited<ReturnType<typeof runBound>>
}

const load1 = () => os.loadavg()[0]!.toFixed(2)

/**
 * Issue 8 item 7: the throughput scenario with 1, 2, 3 … `offerstream run` processes, each held to the
 * same CPU quota, against the sink bound of the same workload (measured once, uncapped: it is the
 * sinks' limit, not the service's), plus latency with the most instances. The same seed gives every
 * instance count the same workload.
 */
export async function runScale(services: Services, o: ScaleOptions) {
  // Fail before any setup if the quota cannot be applied: uncapped instances would measure the machine, not the service.
  createCpuCgroup('probe', o.cpuPerInstance).remove()
  removeLeftoverCgroups()
  const runs = []
  let last: ThroughputRun | undefined
  for (const n of o.instances) {
    process.stderr.write(`[scale] throughput with ${n} instance(s), each capped at ${o.cpuPerInstance} cores\n`)
    const loadBefore = load1()
    const t = await runThroughput(services, createRng(o.seed + 1), { ...o.throughput, instances: n, cpuPerInstance: o.cpuPerInstance })
    runs.push({ instances: n, load: `${loadBefore} → ${load1()}`, ...t.result })
    last = t
  }
  if (!last) throw new Error('--instances lists no instance count')
  const loadBefore = load1()
  const bound = o.bound
    ? { load: 'see scenario 3', ...o.bound }
    : { load: '', ...(await runBound(services, last, o.throughput.serviceEnv)) }
  if (!o.bound) bound.load = `${loadBefore} → ${load1()}`
  last = undefined
  const most = Math.max(...o.instances)
  const latency = []
  for (const l of o.latency) {
    const before = load1()
    const r = await runLatency(services, createRng(o.seed), { ...l, instances: most, cpuPerInstance: o.cpuPerInstance })
    latency.push({ load: `${before} → ${load1()}`, ...r })
  }
  return { scenario: 'scale', cpuPerInstance: o.cpuPerInstance, boundSink: boundSink(bound), runs, bound, latency }
}

type Scale = Awaited<ReturnType<typeof runScale>>

/** The sink that took longer while both were written at once (the bound proper: Java producer ‖ COPY). */
function boundSink(b: { kafkaSeconds: number; pgSeconds: number }): string {
  return b.kafkaSeconds >= b.pgSeconds ? 'Kafka' : 'PostgreSQL'
}

export function scaleRows(s: Scale): Row[] {
  const one = s.runs.find(r => r.instances === 1) ?? s.runs[0]!
  return s.runs.map(r => {
    const wall = Math.max(r.kafkaSeconds, r.pgSeconds)
    return {
      instances: r.instances,
      'pushes/s, both sinks': r.bothPerSecond,
      'Kafka / PG alone': `${Math.round(r.kafkaPerSecond).toLocaleString('en-US')} / ${Math.round(r.pgPerSecond).toLocaleString('en-US')}`,
      '÷ bound': r.bothPerSecond / s.bound.boundPerSecond,
      [`× ${one.instances} instance`]: r.bothPerSecond / one.bothPerSecond,
      // The most N instances could make of this backlog at one instance's pace each: the one that
      // owns the most pushes finishes last (bench/instance-shares.ts).
      'ideal × (largest share)': `${(r.expectedPushes / Math.max(1, ...r.perInstance)).toFixed(2)} (${Math.round((100 * Math.max(0, ...r.perInstance)) / r.expectedPushes)} %)`,
      // How much of the instances' quota was used: ~1/N means only one of them was working.
      'service CPU-s / quota': `${r.cpuSeconds.service} / ${(wall * r.instances * s.cpuPerInstance).toFixed(1)}`,
      'last sink': r.kafkaSeconds >= r.pgSeconds ? 'Kafka' : 'PostgreSQL',
      exact: r.kafkaPushes === r.expectedPushes && r.pgPushes === r.expectedPushes ? 'yes' : `NO (${r.kafkaPushes}, ${r.pgPushes})`,
      'CFS periods throttled / of; s': r.throttling.map(t => `${t.throttled}/${t.periods}; ${t.throttledSeconds}`).join(', '),
      'load avg': r.load,
    }
  })
}

export function scaleBoundLine(s: Scale): string {
  const b = s.bound
  return (
    `sink bound (uncapped, same ${b.pushes.toLocaleString('en-US')} pushes): ${Math.round(b.boundPerSecond).toLocaleString('en-US')} pushes/s ` +
    `(Kafka ${Math.round(b.kafkaPerSecond).toLocaleString('en-US')} / PG ${Math.round(b.pgPerSecond).toLocaleString('en-US')} while concurrent) → ` +
    `${s.boundSink} is the bound; load avg ${b.load}; each instance capped at ${s.cpuPerInstance} cores`
  )
}
