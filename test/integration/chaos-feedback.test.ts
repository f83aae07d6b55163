import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { feedbackKillRun } from '../../chaos/lib/feedback-kill-run.ts'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'
import { buildWorkload } from '../../testkit/workload.ts'

// Short version of `npm run chaos -- --scenario feedback`: feedback (with retries, malformed
// records and feedback for pushes never made) arrives while the service is SIGKILLed at random
// moments; what must be stored is computed from the pushes alone.
let fx: Fixture
before(async () => {
  fx = await createFixture({ OFFERSTREAM_INGEST_BATCH: '20' })
})
after(async () => fx?.cleanup())

test('SIGKILL during feedback intake: each event stored once, each bad record in the DLQ once, stages exact', async () => {
  const w = buildWorkload({ pushes: 1500, subscribersPerRestaurant: 500, inactive: 0, resends: 0 })
  const r = await feedbackKillRun(fx, w, { kills: 4, maxLifeMs: 800, timeoutMs: 120000, nowSeconds: Math.floor(Date.now() / 1000) })
  assert.equal(r.kills, 4)
  assert.ok(
    r.rowsAtKill.some(n => n > 0 && n < r.events.expected),
    `no kill landed mid-intake: ${r.rowsAtKill.join(', ')}`,
  )
  assert.ok(r.cleanExit, r.output.slice(-2000))
  const exact = (expected: number) => ({ expected, missing: 0, duplicated: 0, unexpected: 0, total: expected })
  assert.deepEqual(
    { events: r.events, dlq: r.dlq, wrongStages: r.wrongStages },
    { events: exact(r.workload.events.size), dlq: exact(r.workload.bad.size), wrongStages: 0 },
    `rows at each kill: ${r.rowsAtKill.join(', ')}`,
  )
})
