// `npm run bench [-- --quick]` / `offerstream bench`: the fan-out's latency, throughput against the
// sink bound, and big fan-out memory, against the real local Kafka and PostgreSQL, in one run.
import os from 'node:os'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { KAFKA_VERSION, type Stack, startStack } from '../tools/stack/index.ts'
import type { Services } from './bench-env.ts'
import { printTable, writeResult } from './report.ts'
import { createRng } from './rng.ts'
import { runBigFanout } from './scenario-big-fanout.ts'
import { runBound } from './scenario-bound.ts'
import { runColdStart } from './scenario-cold-start.ts'
import { runLatency } from './scenario-latency.ts'
import { runScale, scaleBoundLine, scaleRows } from './scenario-scale.ts'
import { runSmallDuringBig } from './scenario-small-during-big.ts'
import { runThroughput } from './scenario-throughput.ts'
import { runTxFloor, txFloorRows } from './scenario-tx-floor.ts'
import { type BenchResults, cpuRows, latencyRows, summaryRows } from './tables.ts'

const HELP = `offerstream bench [--quick] [--only latency,throughput,bound,bigfanout,txfloor,coldstart,scale,smallbig] [--seed N]
  [--rates 1,10,100,300] [--seconds 60] [--pushes 1000000] [--big 1000000] [--set OFFERSTREAM_X=v ...] [--cpu-prof] [--node-arg=--flag ...]
  [--instances 1,2,3] [--cpu-per-instance 0.35]
Uses KAFKA_BROKERS and DATABASE_URL when both are set, else starts a throwaway local stack.
--instances runs the scaling scenario (alone, unless --only names others too): throughput with each
count of \`offerstream run\` processes, each held to --cpu-per-instance cores by a cgroup CPU quota
(needs root and cgroups), the sink bound, and latency with the most instances (--rates, default 100).
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

export async function runBench(argv: string[]): Promise<void> {
  const { values: a } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      seed: { type: 'string', default: '42' },
      rates: { type: 'string' },
      seconds: { type: 'string' },
      pushes: { type: 'string' },
      big: { type: 'string' },
      set: { type: 'string', multiple: true, default: [] },
      'cpu-prof': { type: 'boolean', default: false },
      'node-arg': { type: 'string', multiple: true, default: [] },
      instances: { type: 'string' },
      'cpu-per-instance': { type: 'string', default: String(CPU_PER_INSTANCE) },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (a.help) return void process.stdout.write(`${HELP}\n`)
  const q = a.quick
  const only = new Set((a.only ?? (a.instances ? 'scale' : 'latency,throughput,bound,bigfanout')).split(','))
  if (a.instances) only.add('scale')
  const serviceEnv = Object.fromEntries(a.set.map(kv => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]))
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19) + (q ? '-quick' : '')
  const nodeArgs = [
    ...a['node-arg'],
    ...(a['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${new URL('./results/profiles/', import.meta.url).pathname}`] : []),
  ]
  const mix = { duplicates: 0.05, expired: 0.05, malformed: 0.02 }
  const seed = Number(a.seed)
  const latencyOptions = (perSecond: number) => ({
    perSecond,
    seconds: Number(a.seconds ?? (q ? 10 : 60)),
    warmSeconds: q ? 3 : 15,
    restaurants: q ? 300 : 1000,
    rows: q ? 30000 : 100000,
    skew: 0.6,
    mix,
    serviceEnv,
    nodeArgs,
  })
  const throughputOptions = {
    pushes: Number(a.pushes ?? (q ? 100000 : 1000000)),
    restaurants: q ? 200 : 1000,
    rows: q ? 120000 : 1200000,
    skew: 0.8,
    mix,
    serviceEnv,
    nodeArgs,
  }
  const single = { instances: 1, cpuPerInstance: undefined }

  let stack: Stack | undefined
  let services: Services
  if (process.env.KAFKA_BROKERS && process.env.DATABASE_URL) {
    services = { brokers: process.env.KAFKA_BROKERS, databaseUrl: process.env.DATABASE_URL }
  } else {
    process.stderr.write('[bench] starting a local Kafka + PostgreSQL stack\n')
    stack = await startStack({ log: m => process.stderr.write(`[stack] ${m}\n`) })
    services = { brokers: stack.kafkaBrokers, databaseUrl: stack.databaseUrl }
  }
  try {
    const machine = await describeMachine(services)
    process.stdout.write(`\n## offerstream bench ${q ? '(--quick) ' : ''}${new Date().toISOString()}\n${machine.text}\n`)
    const results: BenchResults & Record<string, unknown> = { machine, seed, quick: q, serviceEnv }
    if (only.has('latency')) {
      // Each rate in its own environment: a quiet rate shows the fixed waits, a busy one the queueing.
      const runs = []
      for (const perSecond of (a.rates ?? '1,10,100,300').split(',').map(Number)) {
        const r = await runLatency(services, createRng(seed), { ...latencyOptions(perSecond), ...single })
        runs.push(r)
        printTable(
          `1. latency: ${r.options.perSecond} campaigns/s for ${r.options.seconds} s, ${r.expectedPushes.toLocaleString('en-US')} pushes (ms from campaign produced)`,
          latencyRows(r),
        )
        writeResult(`latency-${perSecond}`, stamp, { machine, seed, ...r })
      }
      results.latency = runs
    }
    if (only.has('throughput') || only.has('bound')) {
      const t = await runThroughput(services, createRng(seed + 1), { ...throughputOptions, ...single })
      results.throughput = t.result
      writeResult('throughput', stamp, { machine, seed, ...t.result })
      if (only.has('bound')) {
        const b = await runBound(services, t, serviceEnv)
        results.bound = b
        writeResult('bound', stamp, { machine, seed, ...b })
      }
    }
    if (only.has('txfloor')) {
      const r = await runTxFloor(services, q ? 10 : 30)
      results.txFloor = r
      printTable('5. Kafka transaction floor at 1 transaction/s (ms)', txFloorRows(r))
      writeResult('txfloor', stamp, { machine, seed, ...r })
    }
    if (only.has('coldstart')) {
      const r = await runColdStart(services, createRng(seed + 3), q ? 3 : 5)
      results.coldStart = r
      printTable('6. cold start: `offerstream run` → (ms)', [
        { to: "'offerstream running' logged", ...r.toRunningMs },
        { to: 'first push of a waiting campaign visible in Kafka', ...r.toFirstPushMs },
      ])
      writeResult('coldstart', stamp, { machine, seed, ...r })
    }
    if (only.has('bigfanout')) {
      const r = await runBigFanout(services, createRng(seed + 2), Number(a.big ?? (q ? 100000 : 1000000)), serviceEnv, nodeArgs)
      results.bigFanout = r
      writeResult('bigfanout', stamp, { machine, seed, ...r })
    }
    if (only.has('smallbig')) {
      const r = await runSmallDuringBig(services, createRng(seed + 4), {
        big: Number(a.big ?? (q ? 200000 : 1000000)),
        perSecond: 10,
        aloneSeconds: q ? 10 : 30,
        smallSubscribers: 20,
        serviceEnv,
        nodeArgs,
      })
      results.smallDuringBig = r
      const pct = (label: string, x: { n: number; p50: number; p99: number; max: number }) => ({
        'small campaigns': label,
        n: x.n,
        p50: x.p50,
        p99: x.p99,
        max: x.max,
      })
      printTable(
        `8. small campaigns (20 subscribers, 10/s): produce → last push visible (ms), alone and while ${r.big.subscribers.toLocaleString('en-US')} subscribers fan out (Kafka ${r.big.kafkaSeconds.toFixed(1)} s, PostgreSQL ${r.big.pgSeconds.toFixed(1)} s); exact: ${r.exact}; load avg ${r.loadDuring.map(l => l.toFixed(1)).join(' → ')}`,
        [
          pct('Kafka, alone', r.kafka.alone),
          pct('Kafka, during', r.kafka.during),
          pct("Kafka, during, big one's shard", r.kafka.duringSameShard),
          pct('Kafka, during, other shards', r.kafka.duringOtherShards),
          pct('PostgreSQL, alone', r.pg.alone),
          pct('PostgreSQL, during', r.pg.during),
        ],
      )
      writeResult('smallbig', stamp, { machine, seed, ...r })
    }
    if (only.has('scale')) {
      const cpu = Number(a['cpu-per-instance'])
      const counts = (a.instances ?? '1,2,3').split(',').map(Number)
      if (!counts.every(n => Number.isInteger(n) && n >= 1)) throw new Error(`--instances must list whole numbers ≥ 1, got ${a.instances}`)
      const r = await runScale(services, {
        instances: counts,
        cpuPerInstance: cpu,
        throughput: throughputOptions,
        latency: (a.rates ?? '100').split(',').map(n => latencyOptions(Number(n))),
        seed,
        bound: results.bound,
      })
      results.scale = r
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
      writeResult('scale', stamp, { machine, seed, ...r })
    }
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
