import assert from 'node:assert/strict'
import { test } from 'node:test'
import { campaignStats } from '../../src/core/campaign-stats.ts'
import { parseDuration } from '../../src/core/duration.ts'
import { decodeFeedback, FEEDBACK_KINDS, FEEDBACK_STAGES, MAX_FEEDBACK_BYTES } from '../../src/core/feedback.ts'

const good = {
  adv_campaign_id: '123E4567-E89B-12D3-A456-426614174003',
  client_id: '223e4567-e89b-12d3-a456-426614174000',
  feedback: 'opened',
  datetime_created: 1_700_000_000,
}
const bytes = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v))
const codeOf = (v: unknown) => {
  const r = decodeFeedback(v)
  return r.ok ? 'ok' : r.rejection.code
}

test('a feedback decodes from bytes and from a parsed object alike, ids lower-cased', () => {
  const want = { ...good, adv_campaign_id: good.adv_campaign_id.toLowerCase() }
  assert.deepEqual(decodeFeedback(bytes(good)), { ok: true, feedback: want })
  assert.deepEqual(decodeFeedback(good), { ok: true, feedback: want })
})

test('rating and comment are kept when given and dropped when null; extra fields are ignored', () => {
  const r = decodeFeedback({ ...good, rating: 4, comment: 'tasty', app_version: '1.2' })
  assert.ok(r.ok)
  assert.equal(r.feedback.rating, 4)
  assert.equal(r.feedback.comment, 'tasty')
  assert.ok(!('app_version' in r.feedback))
  const n = decodeFeedback({ ...good, rating: null, comment: null })
  assert.ok(n.ok)
  assert.deepEqual(Object.keys(n.feedback).sort(), ['adv_campaign_id', 'client_id', 'datetime_created', 'feedback'])
})

test('every kind of the vocabulary is accepted, anything else is a schema error naming the field', () => {
  for (const kind of FEEDBACK_KINDS) assert.equal(codeOf({ ...good, feedback: kind }), 'ok')
  const r = decodeFeedback({ ...good, feedback: 'liked' })
  assert.ok(!r.ok)
  assert.equal(r.rejection.code, 'schema')
  assert.match(r.rejection.reason, /\/feedback/)
})

test('the stage order ranks every kind once, engagement above dismissal above delivery', () => {
  assert.deepEqual([...FEEDBACK_STAGES].sort(), [...FEEDBACK_KINDS].sort())
  const rank = (k: string) => FEEDBACK_STAGES.indexOf(k as never)
  assert.ok(rank('delivered') < rank('dismissed'))
  assert.ok(rank('dismissed') < rank('opened'))
  assert.ok(rank('opened') < rank('clicked') && rank('clicked') < rank('redeemed'))
})

test('bad input gets the same codes as bad campaigns', () => {
  assert.equal(codeOf(null), 'tombstone')
  assert.equal(codeOf(Buffer.alloc(0)), 'tombstone')
  assert.equal(codeOf(Buffer.alloc(MAX_FEEDBACK_BYTES + 1, 0x20)), 'too_large')
  assert.equal(codeOf(Buffer.from([0xff, 0xfe])), 'invalid_utf8')
  assert.equal(codeOf(bytes('{"adv_campaign_id":')), 'not_json')
  assert.equal(codeOf(bytes('[1,2]')), 'not_object')
  assert.equal(codeOf('opened'), 'not_object')
  assert.equal(codeOf({ ...good, datetime_created: 1_700_000_000_000 }), 'timestamp_range')
  assert.equal(codeOf({ ...good, datetime_created: 1.5 }), 'schema')
  assert.equal(codeOf({ ...good, datetime_created: '1700000000' }), 'schema')
  assert.equal(codeOf({ ...good, client_id: 'not-a-uuid' }), 'schema')
  assert.equal(codeOf({ ...good, rating: 6 }), 'schema')
  assert.equal(codeOf({ ...good, rating: 0 }), 'schema')
  assert.equal(codeOf({ ...good, comment: 'x'.repeat(1001) }), 'schema')
  assert.equal(codeOf({ ...good, comment: 'x'.repeat(1000) }), 'ok')
  assert.equal(codeOf({ ...good, comment: 'a\u0000b' }), 'schema')
  const { client_id, ...noClient } = good
  assert.match((decodeFeedback(noClient) as { rejection: { reason: string } }).rejection.reason, /client_id/)
})

test('response rate is responded over pushed, 0 with nothing pushed; missing kinds count 0', () => {
  const base = {
    campaignId: 'c',
    restaurantId: 'r',
    content: 'x',
    start: 1,
    end: 2,
    status: 'done',
    version: 1,
    versions: 1,
    cancelledAt: null,
    suppressed: 0,
    responded: 3,
    firstFeedbackSeconds: { p50: 5, avg: 6 },
  }
  const s = campaignStats({ ...base, pushed: 12, feedback: { opened: 3 } })
  assert.equal(s.responseRate, 0.25)
  assert.deepEqual(s.feedback, { delivered: 0, opened: 3, clicked: 0, redeemed: 0, dismissed: 0 })
  assert.equal(campaignStats({ ...base, pushed: 0, responded: 0, feedback: {} }).responseRate, 0)
})

test('durations for --since: seconds to weeks; anything else is refused', () => {
  assert.deepEqual(['90s', '15m', '12h', '7d', '2w', ' 7d '].map(parseDuration), [90, 900, 43200, 604800, 1209600, 604800])
  for (const bad of ['7', 'd', '7 days', '-7d', '1.5h', '', '7D']) assert.equal(parseDuration(bad), null, bad)
})
