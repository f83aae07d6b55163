import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SETTINGS } from '../../src/config/settings.ts'
import { decodeEvent } from '../../src/core/decode-event.ts'
import { exactAudience, sampledAudience, subscriptionPairs } from '../../testkit/audience.ts'
import { campaignStream, expectedPushes } from '../../testkit/campaigns.ts'
import { buildFeedbackWorkload } from '../../testkit/feedback-workload.ts'
import { badValue } from '../../testkit/hostile.ts'
import { percentiles, quantile } from '../../testkit/quantiles.ts'
import { createRng } from '../../testkit/rng.ts'
import { buildKeyedWorkload, buildWorkload } from '../../testkit/workload.ts'

test('quantiles are nearest rank: always a measured value', () => {
  const xs = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6]
  assert.equal(quantile(xs, 0.5), 5)
  assert.equal(quantile(xs, 0.95), 10)
  assert.equal(quantile(xs, 0.1), 1)
  assert.ok(Number.isNaN(quantile([], 0.5)))
  assert.deepEqual(percentiles([3, 1, 2]), { n: 3, p50: 2, p95: 3, p99: 3, max: 3 })
})

test('the same seed gives the same workload, another seed another', () => {
  const a = buildWorkload({ pushes: 1000, subscribersPerRestaurant: 100, nowSeconds: 1_700_000_000, rng: createRng(1) })
  const b = buildWorkload({ pushes: 1000, subscribersPerRestaurant: 100, nowSeconds: 1_700_000_000, rng: createRng(1) })
  const c = buildWorkload({ pushes: 1000, subscribersPerRestaurant: 100, nowSeconds: 1_700_000_000, rng: createRng(2) })
  assert.deepEqual(a.values, b.values)
  assert.deepEqual([...a.expected], [...b.expected])
  assert.notDeepEqual(a.values, c.values)
})

test('oracle workload: active campaigns owe their audience, inactive ones and re-sends nothing', () => {
  const w = buildWorkload({ pushes: 1000, subscribersPerRestaurant: 100, inactive: 3, resends: 2, rng: createRng(3) })
  // 10 campaigns × 100 clients; 3 inactive + 2 verbatim re-sends add values but no pairs.
  assert.equal(w.expected.size, 1000)
  assert.equal(w.values.length, 15)
  assert.equal(new Set(w.values).size, 13)
  assert.equal(w.subscribers.length, 10 * 100)
})

test('exact audiences have the given sizes, sampled ones follow the skew and overlap', () => {
  const rng = createRng(4)
  const exact = exactAudience([50, 3, 0], rng)
  assert.deepEqual(
    exact.clientsOf.map(c => c.length),
    [50, 3, 0],
  )
  assert.equal(subscriptionPairs(exact).length, 53)
  const skewed = sampledAudience({ restaurants: 100, rows: 20000, skew: 1, clientReuse: 3 }, rng)
  const sizes = skewed.clientsOf.map(c => c.length)
  assert.ok(sizes[0]! > 10 * sizes[99]!, `rank 1 has far more followers than rank 100: ${sizes[0]} vs ${sizes[99]}`)
  const distinctClients = new Set(skewed.rowClient).size
  assert.ok(distinctClients < 20000 / 2, `clients follow several restaurants: ${distinctClients} distinct of 20000 rows`)
  for (const c of skewed.clientsOf) assert.deepEqual(c, [...c].sort(), 'fan-out order')
})

test('the campaign stream mixes in re-sends, expired and malformed records that owe nothing', () => {
  const rng = createRng(5)
  const a = sampledAudience({ restaurants: 20, rows: 2000, skew: 0.6, clientReuse: 1 }, rng)
  const events = campaignStream(a, rng, { duplicates: 0.1, expired: 0.1, malformed: 0.1 }, { targetPushes: 5000 }, 1_700_000_000)
  const kinds = new Set(events.map(e => e.kind))
  assert.deepEqual([...kinds].sort(), ['duplicate', 'expired', 'malformed', 'valid'])
  assert.ok(expectedPushes(events) >= 5000)
  for (const e of events) if (e.kind !== 'valid') assert.equal(e.expected, 0)
})

test('keyed workload: re-keyed copies and hostile values add no pairs', () => {
  const w = buildKeyedWorkload({ pushes: 4000, partitions: 12, rng: createRng(6), subscribersPerRestaurant: 500, bad: 10 })
  const owed = w.records.reduce((n, r) => n + r.pairsNow, 0)
  // Early campaigns owe their pairs only once due, so the records owe at most the expected pairs now.
  assert.ok(owed <= w.expected.size && owed > 0)
  assert.equal(w.bad.length, 10)
  assert.equal(w.records.filter(r => r.key.includes('/resent')).length, w.counts.resentOtherPartition)
})

test('hostile values are never valid campaigns, and the same seed draws the same ones', () => {
  const a = Array.from({ length: 200 }, (_, i) => badValue(createRng(i), 1_700_000_000))
  const b = Array.from({ length: 200 }, (_, i) => badValue(createRng(i), 1_700_000_000))
  assert.deepEqual(a, b)
  assert.ok(new Set(a.map(([kind]) => kind)).size >= 12, 'most kinds drawn')
  for (const [kind, value] of a) {
    const decoded = decodeEvent(value, { maxBytes: Number(SETTINGS.maxEventBytes.default), recordTimestampMs: 1_700_000_000_000 })
    assert.equal(decoded.ok, false, `${kind} decoded as a campaign: ${value?.toString().slice(0, 200)}`)
  }
})

test('feedback workload: each pair answered, its furthest stage known, bad records apart', () => {
  const pairs = Array.from({ length: 30 }, (_, i) => `c${i % 3}/client${i}`)
  const f = buildFeedbackWorkload(pairs, { nowSeconds: 1_700_000_000, rng: createRng(7) })
  assert.equal(f.stages.size, 30)
  assert.equal(f.bad.size, 3)
  assert.ok(f.values.length > f.events.size, 'some events are sent twice')
  for (const b of f.bad) assert.ok(f.values.includes(b))
})
