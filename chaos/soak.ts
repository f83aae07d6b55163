// npm run soak -- [--minutes 30] [--rate 2000] [--sample-seconds 60] [--subscribers 1000]
//   [--prune 30s [--prune-every-seconds 10] [--campaign-seconds 30] [--prune-feedback-too true]]
// Steady load at `rate` pushes/s; prints RSS and end-to-end lag every sample, then checks both sinks.
// --prune: campaigns end `campaign-seconds` after they are produced (active margin 0) and
// `offerstream prune --older-than <value>` runs every few seconds; each sample shows the table sizes.
import { parseDuration } from '../src/core/duration.ts'
import { createFixture } from '../testkit/fixture.ts'
import { parseArgs, say, servicesFor } from './lib/args.ts'
import { soakRun } from './lib/soak-run.ts'

const args = parseArgs(
  process.argv.slice(2),
  {
    minutes: '30',
    rate: '2000',
    'sample-seconds': '60',
    subscribers: '1000',
    'max-rss-spread-pct': '10',
    prune: '',
    'prune-every-seconds': '10',
    'campaign-seconds': '30',
    'prune-feedback-too': 'false',
  },
  'usage: node chaos/soak.ts [--minutes 30] [--rate 2000] [--sample-seconds 60] [--subscribers 1000] [--max-rss-spread-pct 10] [--prune 30s [--prune-every-seconds 10] [--campaign-seconds 30] [--prune-feedback-too true]]',
)
const olderThan = args.prune ? parseDuration(args.prune) : null
if (args.prune && olderThan === null) throw new Error(`--prune expects a duration such as 30s, got ${args.prune}`)
const feedbackToo = args['prune-feedback-too'] === 'true'
const stack = await servicesFor(false, say)
const fx = await createFixture({ OFFERSTREAM_LOG_LEVEL: 'warn', ...(olderThan !== null ? { OFFERSTREAM_ACTIVE_MARGIN_SECONDS: '0' } : {}) })
let failed = true
try {
  say(`soak: ${args.minutes} min at ${args.rate} pushes/s`)
  const r = await soakRun(fx, {
    durationMs: Number(args.minutes) * 60000,
    rate: Number(args.rate),
    sampleMs: Number(args['sample-seconds']) * 1000,
    subscribersPerRestaurant: Number(args.subscribers),
    ...(olderThan !== null
      ? {
          campaignSeconds: Number(args['campaign-seconds']),
          prune: { everyMs: Number(args['prune-every-seconds']) * 1000, olderThanSeconds: olderThan, feedbackToo },
        }
      : {}),
    log: say,
  })
  const { output, samples, ...report } = r
  say(`RSS MB per sample: ${samples.map(s => s.rssMb).join(' ')}`)
  say(`lag per sample: ${samples.map(s => s.lag).join(' ')}`)
  if (r.pruned) say(`events / fan-out ranges per sample: ${samples.map(s => `${s.tables?.events}/${s.tables?.fanouts}`).join(' ')}`)
  say(JSON.stringify(report))
  const exact =
    r.kafka.received === r.expected &&
    r.kafka.duplicates === 0 &&
    r.kafka.unexpected === 0 &&
    // --prune-feedback-too deletes the pushed rows of ended campaigns: only "no pair twice" is left to check.
    (feedbackToo ? r.pg.total === r.pg.distinct : r.pg.total === r.expected && r.pg.distinct === r.expected && r.pg.wrongCount === 0) &&
    r.pg.wrongRestaurant === 0
  failed = !exact || !r.serviceAlive || !r.cleanExit || r.rss.spreadPct > Number(args['max-rss-spread-pct'])
  if (!r.serviceAlive) say(output.slice(-4000))
} finally {
  await fx.cleanup()
  await stack?.stop()
}
say(failed ? 'FAILED' : 'soak held: exact sinks, flat RSS, bounded lag')
process.exit(failed ? 1 : 0)
