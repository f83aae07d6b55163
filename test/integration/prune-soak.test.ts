import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { soakRun } from '../../chaos/lib/soak-run.ts'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'

// Short version of `npm run soak -- --prune 5s`: campaigns that end 20 s after they are produced,
// prune every 3 s with --older-than 5s while the service runs. The bookkeeping must stay bounded
// (a window of recent campaigns, not everything ever sent) and the sinks exact.
let fx: Fixture
before(async () => {
  fx = await createFixture({ OFFERSTREAM_LOG_LEVEL: 'warn', OFFERSTREAM_ACTIVE_MARGIN_SECONDS: '0' })
})
after(async () => fx?.cleanup())

test('pruning during steady load keeps the bookkeeping bounded and both sinks exact', async () => {
  const per = 200
  const rate = 400 // 2 campaigns/s
  const r = await soakRun(fx, {
    durationMs: 35000,
    rate,
    sampleMs: 5000,
    subscribersPerRestaurant: per,
    campaignSeconds: 20,
    prune: { everyMs: 3000, olderThanSeconds: 5 },
  })
  assert.ok(r.serviceAlive && r.cleanExit, r.output.slice(-3000))
  assert.deepEqual(r.kafka, { received: r.expected, duplicates: 0, unexpected: 0 })
  assert.deepEqual(r.pg, { total: r.expected, distinct: r.expected, wrongCount: 0, wrongRestaurant: 0 })
  const campaigns = r.expected / per
  const shown = JSON.stringify({ pruned: r.pruned, events: r.samples.map(s => s.tables?.events) })
  // Everything pruned once ended: no events, campaign rows, ranges or rejects left; one span per campaign kept for dedup.
  assert.deepEqual(
    r.pruned?.final,
    { events: 0, campaigns: 0, fanouts: 0, rejects: 0, prunedRanges: campaigns, feedback: r.expected },
    shown,
  )
  assert.equal(r.pruned?.events, campaigns, shown)
  assert.equal(r.pruned?.campaigns, campaigns, `each campaign's row pruned once, while records kept arriving: ${shown}`)
  // At most the campaigns of the last ~(20 s window + 5 s retention + 3 s period + slack) at any sample.
  const bound = (rate / per) * (20 + 5 + 3 + 15)
  assert.ok(Math.max(...r.samples.map(s => s.tables?.events ?? Infinity)) <= bound, shown)
  assert.ok(Math.max(...r.samples.map(s => s.tables?.campaigns ?? Infinity)) <= bound, shown)
})
