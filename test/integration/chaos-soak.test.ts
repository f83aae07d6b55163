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

test('steady load for 40 s: exact sinks, lag drained, no runaway memory', async t => {
  const r = await soakRun(fx, { durationMs: 40000, rate: 800, sampleMs: 5000, subscribersPerRestaurant: 400 })
  assert.ok(r.serviceAlive && r.cleanExit, r.output.slice(-3000))
  assert.deepEqual(r.kafka, { received: r.expected, duplicates: 0, unexpected: 0 })
  assert.deepEqual(r.pg, { total: r.expected, distinct: r.expected, wrongCount: 0, wrongRestaurant: 0 })
  assert.equal(r.samples.at(-1)!.lag, 0)
  // How far behind it fell depends on the machine's speed and load: reported, not asserted (a speed
  // target belongs to `npm run soak` and the bench). Draining it to 0 above is the condition.
  t.diagnostic(`lag per sample: ${r.samples.map(s => s.lag).join(' ')} (max ${r.maxLag})`)
  assert.ok(r.rss.maxMb < 600, `RSS MB per sample: ${r.samples.map(s => s.rssMb).join(' ')}`)
})
