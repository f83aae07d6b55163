import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { fuzzRun } from '../../chaos/lib/fuzz-run.ts'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'

// Short version of `npm run fuzz`: hostile values of every kind (random bytes, truncated and deep
// JSON, huge strings, wrong types, NaN / negative / millisecond timestamps, bad UUIDs, SQL-looking
// text, emoji, invalid UTF-8, empty and null) interleaved with good campaigns whose content is
// itself hostile (SQL text, emoji, quotes) and must come out verbatim.
let fx: Fixture
before(async () => {
  fx = await createFixture({ OFFERSTREAM_LOG_LEVEL: 'warn' })
})
after(async () => fx?.cleanup())

test('hostile input: every bad value in the DLQ with a reason, every good one pushed verbatim, no crash', async () => {
  const r = await fuzzRun(fx, { bad: 4000, goodEvery: 50, seed: Date.now() % 100000 })
  assert.ok(r.serviceAlive && r.cleanExit, r.output.slice(-3000))
  assert.deepEqual(r.dlq, { received: r.bad, missing: 0, extra: 0, withoutReason: 0, unknownCode: 0 })
  const exact = { missing: 0, duplicated: 0, unexpected: 0, total: r.sinks.expected }
  assert.deepEqual(r.sinks, { expected: r.good * 3, pg: exact, kafka: exact })
  assert.equal(r.contentMismatches, 0)
  assert.ok(Object.keys(r.kinds).length >= 16, JSON.stringify(r.kinds))
})
