// `npm run bench [-- --quick]` / `offerstream bench`: the fan-out's latency, throughput against the
// sink bound, and big fan-out memory, against the real local Kafka and PostgreSQL, in one run.
import os from 'node:os'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { createRng } from '../testkit/rng.ts'
import { KAFKA_VERSION, type Stack, startStack } from '../tools/stack/index.ts'
import type { Services } from './bench-env.ts'
import { printTable, writeResult } from './report.ts'
import { runThroughput } from './scenario-throughput.ts'
import { BENCH_SCENARIOS, type BenchContext, saver } from './scenarios.ts'
import { cpuRows, summaryRows } from './tables.ts'

const HELP = `offerstream bench [--quick] [--only latency,throughput,bound,bigfanout,txfloor,coldstart,scale,cancel,smallbig] [--seed N]
  [--rates 1,10,100,300] [--seconds 60] [--pushes 1000000] [--big 1000000] [--set OFFERSTREAM_X=v ...] [--cpu-prof] [--node-arg=--flag ...]
  [--instances 1,2,3] [--cpu-per-instance 0.35] [--warm-pushes N] [--cold-stack] [--restaurants N] [--rows N] [--skew Z] [--duplicates F]
Uses KAFKA_BROKERS and DATABASE_URL when both are set, else starts a throwaway local stack.
--instances runs the scaling scenario (alone, unless --only names others too): throughput with each
count of \`offerstream run\` processes, each held to --cpu-per-instance cores by a cgroup CPU quota
(needs root and cgroups), the sink bound, and latency with the most instances (--rates, default 100).
--warm-pushes: a first backlog of that many pushes, worked through before the measured one
(throughput: default 0; scaling: default a third of --pushes, so each instance is measured warm).
Before the scenarios, a 1,000,000-push backlog goes through one uncapped instance, unmeasured: a broker
JVM that has not yet worked (every stack the bench starts) spent 2-3x the CPU per push of a warmed one
and added ~8 ms to the p50 at 1 campaign/s (docs/scaling.md, Sixth round). --cold-stack skips it.
--restaurants, --rows, --skew: the audiences of the latency, throughput and scaling workloads
(subscribers_restaurants rows drawn over that many restaurants, Zipf exponent of their sizes;
defaults: latency 1000 / 100000 / 0.6, throughput 1000 / 1200000 / 0.8). --skew 0 gives every
restaurant about rows/restaurants subscribers: --restaurants 1000 --rows 500000 --skew 0 is 500 each.
--duplicates: the share of input records that re-send an earlier campaign (default 0.05; 0 for none). A
re-send updates its campaign's row, which waits for a fan-out in flight (docs/scaling.md, Twelfth round).
--set and --node-arg configure the service process (e.g. --set OFFERSTREAM_RELAY_BATCH=5000).
Results: tables on stdout, JSON in bench/results/. --cpu-prof writes the service's profiles there too.`

// Cores each instance may use in the scaling scenario. On 2 cores the broker, PostgreSQL and the
// bench's own producer and observers need the rest: 3 × 0.35 = 1.05 cores for the instances leaves
// ~0.95, about what the sinks used next to an uncapped instance in the quick throughput run. One
// instance at 0.35 cores is CPU-bound (it used 84–98 % of its quota at load average 1–4) and reached
// 0.13–0.22 of the sink bound on a quiet machine, 0.40–0.50 when other jobs depressed the bound (runs
// of 2026-11-22), so up to 3 instances the table shows whether they add capacity, not CPU contention.
// A larger share would let 3 instances starve the sinks; a smaller one slows every start-up.
const CPU_PER_INSTANCE = 0.35

const OPTIONS = {
  quick: { type: 'boolean', default: false },
  only: { type: 'string' },
  seed: { type: 'string', default: '42' },
  rates: { type: 'string' },
  seconds: { type: 'string' },
  pushes: { type: 'string' },
  'warm-pushes': { type: 'string' },
  'cold-stack': { type: 'boolean', default: false },
  restaurants: { type: 'string' },
  rows: { type: 'string' },
  skew: { type: 'string' },
  duplicates: { type: 'string' },
  big: { type: 'string' },
  set: { type: 'string', multiple: true, default: [] as string[] },
  'cpu-prof': { type: 'boolean', default: false },
  'node-arg': { type: 'string', multiple: true, default: [] as string[] },
  instances: { type: 'string' },
  'cpu-per-instance': { type: 'string', default: String(CPU_PER_INSTANCE) },
  help: { type: 'boolean', short: 'h', default: false },
} as const

type Values = ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS }>>['values']

/** Scenario sizes from the flags: --quick shrinks them so the whole run fits in a few minutes. */
function scenarioOptions(a: Values) {
  const q = a.quick
  const serviceEnv = Object.fromEntries(a.set.map(kv => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]))
  const nodeArgs = [
    ...a['node-arg'],
    ...(a['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${new URL('./results/profiles/', import.meta.url).pathname}`] : []),
  ]
  const mix = { duplicates: duplicatesFlag(a, 0.05), expired: 0.05, malformed: 0.02 }
  const warmPushes = Number(a['warm-pushes'] ?? 0)
  if (!Number.isInteger(warmPushes) || warmPushes < 0) throw new Error(`--warm-pushes must be a whole number ≥ 0, got ${a['warm-pushes']}`)
  const latencyOptions = (perSecond: number) => ({
    perSecond,
    seconds: Number(a.seconds ?? (q ? 10 : 60)),
    warmSeconds: q ? 3 : 15,
    restaurants: wholeFlag(a, 'restaurants', q ? 300 : 1000),
    rows: wholeFlag(a, 'rows', q ? 30000 : 100000),
    skew: skewFlag(a, 0.6),
    mix,
    serviceEnv,
    nodeArgs,
  })
  const throughputOptions = {
    pushes: Number(a.pushes ?? (q ? 100000 : 1000000)),
    warmPushes,
    restaurants: wholeFlag(a, 'restaurants', q ? 200 : 1000),
    rows: wholeFlag(a, 'rows', q ? 120000 : 1200000),
    skew: skewFlag(a, 0.8),
    mix,
    serviceEnv,
    nodeArgs,
  }
  return { serviceEnv, nodeArgs, latencyOptions, throughputOptions }
}

function wholeFlag(a: Values, flag: 'restaurants' | 'rows', fallback: number): number {
  const n = Number(a[flag] ?? fallback)
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} must be a whole number ≥ 1, got ${a[flag]}`)
  return n
}

// With expired (0.05) and malformed (0.02) records the shares must leave room for new campaigns.
function duplicatesFlag(a: Values, fallback: number): number {
  const d = Number(a.duplicates ?? fallback)
  if (!(d >= 0 && d <= 0.9)) throw new Error(`--duplicates must be a number from 0 to 0.9, got ${a.duplicates}`)
  return d
}

function skewFlag(a: Values, fallback: number): number {
  const z = Number(a.skew ?? fallback)
  if (!(z >= 0)) throw new Error(`--skew must be a number ≥ 0, got ${a.skew}`)
  return z
}

/**
 * Works a backlog through the stack once, before anything is measured, so that every scenario meets
 * a warmed broker, as a deployment's long-running one is. Its own seed: the measured workloads do not move.
 */
async function warmStack(services: Services, o: ReturnType<typeof scenarioOptions>, seed: number): Promise<void> {
  process.stderr.write('[bench] warming the stack: a 1,000,000-push backlog through one instance, not measured\n')
  const warm = { ...o.throughputOptions, pushes: 1_000_000, restaurants: 200, rows: 120_000, skew: 0.8, warmPushes: 0 }
  await runThroughput(services, createRng(seed + 1000), { ...warm, instances: 1, cpuPerInstance: undefined })
}

/** KAFKA_BROKERS and DATABASE_URL when both are set, else a throwaway local stack. */
async function benchServices(): Promise<{ services: Services; stack?: Stack }> {
  if (process.env.KAFKA_BROKERS && process.env.DATABASE_URL) {
    return { services: { brokers: process.env.KAFKA_BROKERS, databaseUrl: process.env.DATABASE_URL } }
  }
  process.stderr.write('[bench] starting a local Kafka + PostgreSQL stack\n')
  const stack = await startStack({ log: m => process.stderr.write(`[stack] ${m}\n`) })
  return { services: { brokers: stack.kafkaBrokers, databaseUrl: stack.databaseUrl }, stack }
}

export async function runBench(argv: string[]): Promise<void> {
  const { values: a } = parseArgs({ args: argv, options: OPTIONS })
  if (a.help) return void process.stdout.write(`${HELP}\n`)
  const q = a.quick
  const only = new Set((a.only ?? (a.instances ? 'scale' : 'latency,throughput,bound,bigfanout')).split(','))
  if (a.instances) only.add('scale')
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19) + (q ? '-quick' : '')
  const seed = Number(a.seed)
  const o = scenarioOptions(a)
  const { services, stack } = await benchServices()
  try {
    const machine = await describeMachine(services)
    process.stdout.write(`\n## offerstream bench ${q ? '(--quick) ' : ''}${new Date().toISOString()}\n${machine.text}\n`)
    const results: BenchContext['results'] = { machine, seed, quick: q, serviceEnv: o.serviceEnv }
    const context: BenchContext = {
      ...o,
      services,
      seed,
      quick: q,
      args: a,
      cpuPerInstance: Number(a['cpu-per-instance']),
      results,
      save: saver(stamp, machine, seed),
    }
    if (!a['cold-stack']) await warmStack(services, o, seed)
    for (const s of BENCH_SCENARIOS) if (s.names.some(n => only.has(n))) await s.run(context, only)
    printTable('Summary', summaryRows(results))
    printTable('CPU seconds used during each measured window, by process', cpuRows(results))
    process.stdout.write(`\nJSON: ${writeResult('all', stamp, results)}\n`)
  } finally {
    await stack?.stop()
  }
}

async function describeMachine(services: Services) {
  const c = new pg.Client({ connectionString: services.databaseUrl })
  await c.connect()
  const pgVersion = (await c.query<{ server_version: string }>('show server_version')).rows[0]!.server_version
  await c.end()
  const cpus = os.cpus()
  const m = {
    cpu: cpus[0]?.model ?? '?',
    cores: cpus.length,
    memGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    kafka: KAFKA_VERSION,
    postgres: pgVersion,
    load: os
      .loadavg()
      .map(l => l.toFixed(2))
      .join(' '),
  }
  return {
    ...m,
    text: `machine: ${m.cores} × ${m.cpu}, ${m.memGb} GB; Node ${m.node}, Kafka ${m.kafka}, PostgreSQL ${m.postgres}; load avg ${m.load}`,
  }
}

if (import.meta.main) {
  runBench(process.argv.slice(2)).then(
    () => process.exit(0),
    error => {
      process.stderr.write(`bench failed: ${(error as Error).stack}\n`)
      process.exit(1)
    },
  )
}
