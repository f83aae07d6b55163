// npm run fuzz -- [--count 100000] [--good-every 100] [--seed 1]
// Hostile input through a real service process: every bad value in the DLQ, every good one pushed.
import { createFixture } from '../testkit/fixture.ts'
import { sinksExact } from '../testkit/sinks.ts'
import { parseArgs, say, servicesFor } from './lib/args.ts'
import { fuzzRun } from './lib/fuzz-run.ts'

const args = parseArgs(
  process.argv.slice(2),
  { count: '100000', 'good-every': '100', seed: String(Date.now() % 100000) },
  'usage: node chaos/fuzz.ts [--count 100000] [--good-every 100] [--seed N]',
)
const stack = await servicesFor(false, say)
const fx = await createFixture({ OFFERSTREAM_LOG_LEVEL: 'warn' })
let failed = true
try {
  say(`seed ${args.seed}: ${args.count} hostile values`)
  const t0 = Date.now()
  const r = await fuzzRun(fx, { bad: Number(args.count), goodEvery: Number(args['good-every']), seed: Number(args.seed), log: say })
  const { output, ...report } = r
  say(`done in ${Math.round((Date.now() - t0) / 1000)} s: ${JSON.stringify(report)}`)
  failed =
    !r.serviceAlive ||
    !r.cleanExit ||
    !sinksExact(r.sinks) ||
    r.contentMismatches > 0 ||
    r.dlq.missing + r.dlq.extra + r.dlq.withoutReason + r.dlq.unknownCode > 0
  if (failed) say(output.slice(-4000))
} finally {
  await fx.cleanup()
  await stack?.stop()
}
say(failed ? 'FAILED' : 'all hostile input handled')
process.exit(failed ? 1 : 0)
