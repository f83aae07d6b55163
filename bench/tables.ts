import type { Percentiles } from '../testkit/quantiles.ts'
import type { Row } from './report.ts'
import type { runBigFanout } from './scenario-big-fanout.ts'
import type { runBound } from './scenario-bound.ts'
import type { runColdStart } from './scenario-cold-start.ts'
import type { runLatency } from './scenario-latency.ts'
import type { runScale } from './scenario-scale.ts'
import type { runThroughput } from './scenario-throughput.ts'
import type { runTxFloor } from './scenario-tx-floor.ts'

// The printed tables: per-scenario detail and one summary with the targets of issue 3.

export function latencyRows(r: {
  kafkaPerPush: Percentiles
  pgPerPush: Percentiles
  kafkaCampaignDone: Percentiles
  pgCampaignDone: Percentiles
}): Row[] {
  const row = (what: string, p: Percentiles): Row => ({
    'from campaign produced to': what,
    n: p.n,
    p50: p.p50,
    p95: p.p95,
    p99: p.p99,
    max: p.max,
  })
  return [
    row('each push visible in Kafka (read_committed)', r.kafkaPerPush),
    row('each push row committed in PostgreSQL', r.pgPerPush),
    row("campaign's last push visible in Kafka", r.kafkaCampaignDone),
    row("campaign's last row committed in PostgreSQL", r.pgCampaignDone),
  ]
}

/** What main.ts collected: one entry per scenario that ran. */
export interface BenchResults {
  /** One run per rate. */
  latency?: Array<Awaited<ReturnType<typeof runLatency>>>
  throughput?: Awaited<ReturnType<typeof runThroughput>>['result']
  bound?: Awaited<ReturnType<typeof runBound>>
  bigFanout?: Awaited<ReturnType<typeof runBigFanout>>
  txFloor?: Awaited<ReturnType<typeof runTxFloor>>
  coldStart?: Awaited<ReturnType<typeof runColdStart>>
  scale?: Awaited<ReturnType<typeof runScale>>
}

type Add = (scenario: string, metric: string, value: number | string, target?: string, ratio?: string) => void

// With a frequency cap on, the PostgreSQL side counts pairs decided (pushed or suppressed) and
// Kafka only the pushes.
const exact = (r: { kafkaPushes: number; pgPushes: number; suppressed?: number }, expected: number) =>
  r.kafkaPushes === expected - (r.suppressed ?? 0) && r.pgPushes === expected
    ? `yes${r.suppressed ? ` (${r.suppressed.toLocaleString('en-US')} suppressed by the cap)` : ''}`
    : `NO (kafka ${r.kafkaPushes}, pg ${r.pgPushes}, expected ${expected}${r.suppressed ? `, ${r.suppressed} suppressed` : ''})`
const thousands = (n: number) => Math.round(n).toLocaleString('en-US')

function latencySummary(all: BenchResults, add: Add): void {
  for (const l of all.latency ?? []) {
    const at = `1 latency @ ${l.options.perSecond}/s`
    add(at, 'p50 / p99 campaign → push visible in Kafka, ms', `${l.kafkaPerPush.p50} / ${l.kafkaPerPush.p99}`, '≤ 50 (p99)')
    add(at, 'p50 / p99 campaign → row committed in PG, ms', `${l.pgPerPush.p50} / ${l.pgPerPush.p99}`)
    add(at, 'p99 campaign → its last push visible in Kafka, ms', l.kafkaCampaignDone.p99)
    add(at, 'every push exactly once in both sinks', exact(l, l.expectedPushes))
  }
}

function throughputSummary(t: NonNullable<BenchResults['throughput']>, add: Add): void {
  add(
    '2 throughput',
    `pushes/s, both sinks (${t.expectedPushes.toLocaleString('en-US')} pushes, ${t.campaigns} campaigns)`,
    t.bothPerSecond,
  )
  add('2 throughput', 'pushes/s, Kafka only / PG only', `${thousands(t.kafkaPerSecond)} / ${thousands(t.pgPerSecond)}`)
  add('2 throughput', 'every push exactly once in both sinks', exact(t, t.expectedPushes))
}

function boundSummary(b: NonNullable<BenchResults['bound']>, t: BenchResults['throughput'], add: Add): void {
  add('3 sink bound', 'raw pushes/s, both sinks concurrently (Java producer ‖ COPY)', b.boundPerSecond)
  add('3 sink bound', 'raw pushes/s, Kafka / PG (while concurrent)', `${thousands(b.kafkaPerSecond)} / ${thousands(b.pgPerSecond)}`)
  add('3 sink bound', 'raw pushes/s, both sinks, with our OutputProducer ‖ COPY', b.ownClient.boundPerSecond)
  add('3 sink bound', 'OutputProducer / Java producer, pushes/s', b.ownClient.kafkaPerSecond / b.kafkaPerSecond)
  if (!t) return
  const ratio = t.bothPerSecond / b.boundPerSecond
  add('3 sink bound', 'throughput ÷ bound', ratio, '≥ 0.7', (ratio / 0.7).toFixed(2))
  add('3 sink bound', 'throughput ÷ bound with our OutputProducer (the old bound)', t.bothPerSecond / b.ownClient.boundPerSecond)
}

function bigFanoutSummary(g: NonNullable<BenchResults['bigFanout']>, add: Add): void {
  add(
    '4 big fan-out',
    `seconds to last push, Kafka / PG (${g.subscribers.toLocaleString('en-US')} subscribers)`,
    `${g.kafkaSeconds.toFixed(1)} / ${g.pgSeconds.toFixed(1)}`,
  )
  add('4 big fan-out', 'pushes/s, both sinks', g.perSecond)
  add('4 big fan-out', 'service peak RSS (VmHWM), MB', g.peakRssMb, '≤ 256', (g.peakRssMb / 256).toFixed(2))
  add('4 big fan-out', 'every push exactly once in both sinks', exact(g, g.subscribers))
}

function scaleSummary(s: NonNullable<BenchResults['scale']>, add: Add): void {
  for (const r of s.runs)
    add(
      '7 scaling',
      `pushes/s, ${r.instances} instance(s) × ${s.cpuPerInstance} cores; ÷ bound`,
      `${thousands(r.bothPerSecond)}; ${(r.bothPerSecond / s.bound.boundPerSecond).toFixed(2)}`,
    )
  add('7 scaling', 'bound sink (Java producer ‖ COPY)', s.boundSink)
  for (const l of s.latency)
    add(
      '7 scaling',
      `p50 / p99 ms to push in Kafka, ${l.options.instances} instances @ ${l.options.perSecond}/s`,
      `${l.kafkaPerPush.p50} / ${l.kafkaPerPush.p99}`,
    )
}

/** One table of every scenario that ran, with the targets of issue 3. */
export function summaryRows(all: BenchResults): Row[] {
  const rows: Row[] = []
  const add: Add = (scenario, metric, value, target = '', ratio = '') =>
    rows.push({ scenario, metric, value, target, 'value/target': ratio })
  latencySummary(all, add)
  if (all.throughput) throughputSummary(all.throughput, add)
  if (all.bound) boundSummary(all.bound, all.throughput, add)
  if (all.bigFanout) bigFanoutSummary(all.bigFanout, add)
  const f = all.txFloor
  if (f) add('5 tx floor', 'p50 ms of a 100-record transaction at 1/s, Java producer / ours', `${f.javaTotalMs.p50} / ${f.oursTotalMs.p50}`)
  const c = all.coldStart
  if (c)
    add(
      '6 cold start',
      'p50 ms, offerstream run → first push of a waiting campaign',
      c.toFirstPushMs.p50,
      '≤ 2000',
      (c.toFirstPushMs.p50 / 2000).toFixed(2),
    )
  if (all.scale) scaleSummary(all.scale, add)
  return rows
}

/** CPU seconds per component during each measured window (capacity = wall time × cores). */
export function cpuRows(all: BenchResults): Row[] {
  const rows: Row[] = []
  for (const l of all.latency ?? []) rows.push({ scenario: `1 latency @ ${l.options.perSecond}/s`, ...l.cpuSeconds })
  for (const [name, r] of [
    ['2 throughput', all.throughput],
    ['3 sink bound (Java producer)', all.bound],
    ['3 sink bound (OutputProducer)', all.bound?.ownClient],
    ['4 big fan-out', all.bigFanout],
  ] as const) {
    if (r?.cpuSeconds) rows.push({ scenario: name, ...r.cpuSeconds })
  }
  for (const r of all.scale?.runs ?? []) rows.push({ scenario: `7 scaling, ${r.instances} instance(s)`, ...r.cpuSeconds })
  return rows
}
