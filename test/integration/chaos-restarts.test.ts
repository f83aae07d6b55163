import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { restartRun } from '../../chaos/lib/restart-run.ts'
import { createFixture } from '../../testkit/fixture.ts'
import { buildWorkload } from '../../testkit/workload.ts'
import { type Stack, startStack } from '../../tools/stack/index.ts'

// Short version of `npm run chaos -- --scenario kafka|postgres`: the broker, then the database, is
// stopped for a few seconds mid-run on a stack of this suite's own (never the shared one). The
// service must ride it out by itself (same process, bounded retries) and both sinks stay exact.
let stack: Stack
const saved = { KAFKA_BROKERS: process.env.KAFKA_BROKERS, DATABASE_URL: process.env.DATABASE_URL }

before(async () => {
  stack = await startStack()
  process.env.KAFKA_BROKERS = stack.kafkaBrokers
  process.env.DATABASE_URL = stack.databaseUrl
})
after(async () => {
  Object.assign(process.env, saved)
  await stack?.stop()
})

const exact = (n: number) => ({ missing: 0, duplicated: 0, unexpected: 0, total: n })

for (const [outage, hard] of [
  ['postgres', true],
  ['kafka', true],
] as const) {
  test(`${outage} stopped${hard ? ' hard' : ''} for 6 s mid-run: the service recovers by itself, both sinks exact`, async () => {
    const fx = await createFixture({
      OFFERSTREAM_FANOUT_CHUNK: '1000',
      OFFERSTREAM_RELAY_BATCH: '1500',
      OFFERSTREAM_INGEST_BATCH: '2',
      OFFERSTREAM_LOG_LEVEL: 'warn',
      OFFERSTREAM_RETRY_MAX_DELAY_MS: '2000',
    })
    try {
      const w = buildWorkload({ pushes: 16000, subscribersPerRestaurant: 1000 })
      const r = await restartRun(stack, fx, w, { outage, hard, downMs: 6000, timeoutMs: 300000 })
      assert.ok(r.survived, `service exited during the ${outage} outage:\n${r.output.slice(-4000)}`)
      assert.ok(r.rowsAtStop < w.expected.size, 'the outage came mid-run')
      assert.ok(r.retryWarnings > 0 && r.retryWarnings < 200, `bounded, logged retries: ${r.retryWarnings}`)
      assert.ok(r.cleanExit, r.output.slice(-2000))
      assert.deepEqual(r.sinks, { expected: w.expected.size, pg: exact(w.expected.size), kafka: exact(w.expected.size) })
    } finally {
      await fx.cleanup()
    }
  })
}
