import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { killRun } from '../../chaos/lib/kill-run.ts'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'
import { buildWorkload } from '../../testkit/workload.ts'

// Short version of `npm run chaos -- --scenario kill`: SIGKILLs at random moments (startup and
// group join, ingest of input still arriving, fan-out, relay) with inactive and re-sent campaigns
// in the input; the pairs to expect are computed from the input alone.
let fx: Fixture
before(async () => {
  fx = await createFixture({ OFFERSTREAM_FANOUT_CHUNK: '1000', OFFERSTREAM_RELAY_BATCH: '1500', OFFERSTREAM_INGEST_BATCH: '2' })
})
after(async () => fx?.cleanup())

test('SIGKILL at random moments while input keeps arriving: both sinks exact', async () => {
  const w = buildWorkload({ pushes: 12000, subscribersPerRestaurant: 1000, inactive: 3, resends: 2 })
  const r = await killRun(fx, w, { kills: 4, maxLifeMs: 6000, timeoutMs: 300000 })
  assert.equal(r.kills, 4)
  assert.ok(r.cleanExit, r.output.slice(-2000))
  const exact = { missing: 0, duplicated: 0, unexpected: 0, total: w.expected.size }
  assert.deepEqual(r.sinks, { expected: w.expected.size, pg: exact, kafka: exact }, `rows at each kill: ${r.rowsAtKill.join(', ')}`)
})
