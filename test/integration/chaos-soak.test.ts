import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { soakRun } from '../../chaos/lib/soak-run.ts'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'

// Short version of `npm run soak` (30 min there): steady load, RSS and end-to-end lag sampled,
// exact sinks at the end. RSS flatness needs the long run; here only gross growth fails.
let fx: Fixture
before(async () => {
  fx = await createFixture({ OFFERSTREAM_LOG_LEVEL: 'warn' })
})
after(async () => fx?.cleanup())

test('steady load for 40 s: exact sinks, lag bounded and drained, no runaway memory', async () => {
  const r = await soakRun(fx, { durationMs: 40000, rate: 800, sampleMs: 5000, subscribersPerRestaurant: 400 })
  assert.ok(r.serviceAlive && r.cleanExit, r.output.slice(-3000))
  assert.deepEqual(r.kafka, { received: r.expected, duplicates: 0, unexpected: 0 })
  assert.deepEqual(r.pg, { total: r.expected, distinct: r.expected, wrongCount: 0, wrongRestaurant: 0 })
  assert.equal(r.samples.at(-1)!.lag, 0)
  // Bounded: never more than ~15 s of input owed, on a shared 2-core machine.
  assert.ok(r.maxLag <= 800 * 15, `lag per sample: ${r.samples.map(s => s.lag).join(' ')}`)
  assert.ok(r.rss.maxMb < 600, `RSS MB per sample: ${r.samples.map(s => s.rssMb).join(' ')}`)
})
