// npm run chaos -- [--scenario kill|kafka|postgres|feedback|broker|scale|all] [--pushes N] [--kills N] [--down-ms MS] [--hard true] [--max-life-ms MS] [--seed N]
//   scale only: [--instances 3] [--partitions 12] [--stops 2] [--run-dir DIR]
// Breaks things under a real workload and checks both sinks exactly against the expected pairs.
import { createFixture } from '../testkit/fixture.ts'
import type { Stack } from '../tools/stack/index.ts'
import { parseArgs, say, servicesFor } from './lib/args.ts'
import { type ChaosScenario, SCENARIOS } from './lib/scenarios.ts'

const args = parseArgs(
  process.argv.slice(2),
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
  },
  `usage: node chaos/chaos.ts [--scenario ${Object.keys(SCENARIOS).join('|')}|all] [--pushes 100000 (scale: 300000)] [--kills 20 (scale: 6)] [--down-ms 10000] [--hard false] [--max-life-ms 12000] [--instances 3] [--partitions 12] [--stops 2] [--seed N] [--run-dir DIR]`,
)

/** One scenario in a fixture of its own; true if every guarantee held. */
async function runScenario(name: string, scenario: ChaosScenario, stack: Stack | undefined): Promise<boolean> {
  const fx = await createFixture({
    // Small chunks and transactions so kills and outages land mid-transaction.
    OFFERSTREAM_FANOUT_CHUNK: '2000',
    OFFERSTREAM_RELAY_BATCH: '3000',
    OFFERSTREAM_INGEST_BATCH: '5',
    OFFERSTREAM_LOG_LEVEL: 'warn',
    ...scenario.settings?.(args),
  })
  try {
    const t0 = Date.now()
    const pushes = Number(args.pushes || (scenario.defaults?.pushes ?? 100000))
    const kills = Number(args.kills || (scenario.defaults?.kills ?? 20))
    const { report, ok } = await scenario.run({ fx, stack, args, pushes, kills, log: say })
    say(`${name} done in ${Math.round((Date.now() - t0) / 1000)} s: ${JSON.stringify(report)}`)
    return ok
  } finally {
    await fx.cleanup()
  }
}

// `broker` and `scale` need a 3-node cluster and run alone; `all` keeps to the one-node scenarios.
const names = args.scenario === 'all' ? Object.keys(SCENARIOS).filter(n => SCENARIOS[n]!.inAll) : [args.scenario]
const chosen = names.map(n => {
  const s = SCENARIOS[n]
  if (!s) throw new Error(`unknown scenario ${n}: one of ${Object.keys(SCENARIOS).join(', ')}, all`)
  return [n, s] as const
})
const own = chosen.filter(([, s]) => s.ownStack)
const stack = await servicesFor(own.length > 0, say, Math.max(1, ...own.map(([, s]) => s.ownStack!.brokers)))
let failed = false
try {
  for (const [name, scenario] of chosen) failed = !(await runScenario(name, scenario, stack)) || failed
} finally {
  await stack?.stop()
}
say(failed ? 'FAILED' : 'all guarantees held')
process.exit(failed ? 1 : 0)
