import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decodeEvent } from '../../src/core/decode-event.ts'
import { SEED_EVENT_VALUE } from '../../testkit/seed.ts'

const opts = { maxBytes: 4096, recordTimestampMs: 1_700_000_000_123 }
const seed = JSON.parse(SEED_EVENT_VALUE) as Record<string, unknown>
const bytes = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v))
const codeOf = (v: Uint8Array | null) => {
  const r = decodeEvent(v, opts)
  return r.ok ? 'ok' : r.rejection.code
}

test('the seed event decodes to its campaign', () => {
  const r = decodeEvent(bytes(SEED_EVENT_VALUE), opts)
  assert.ok(r.ok && 'campaign' in r)
  assert.deepEqual(r.campaign, {
    restaurantId: '123e4567-e89b-12d3-a456-426614174000',
    campaignId: '123e4567-e89b-12d3-a456-426614174003',
    content: 'first campaign',
    owner: 'Ivanov Ivan Ivanovich',
    ownerContact: 'iiivanov@restaurant.ru',
    start: 1659203516,
    end: 2659207116,
    created: 1659131516,
  })
})

test('optional fields default: owner null, created from the record timestamp', () => {
  const { adv_campaign_owner, adv_campaign_owner_contact, datetime_created, ...rest } = seed
  const r = decodeEvent(bytes(rest), opts)
  assert.ok(r.ok && 'campaign' in r)
  assert.equal(r.campaign.owner, null)
  assert.equal(r.campaign.ownerContact, null)
  assert.equal(r.campaign.created, 1_700_000_000)
})

test('ids are normalised to lower case so dedup does not depend on spelling', () => {
  const r = decodeEvent(bytes({ ...seed, adv_campaign_id: '123E4567-E89B-12D3-A456-426614174003' }), opts)
  assert.ok(r.ok && 'campaign' in r)
  assert.equal(r.campaign.campaignId, '123e4567-e89b-12d3-a456-426614174003')
})

test('each kind of bad input gets its own reason code', () => {
  const cases: Array<[string, Uint8Array | null, string]> = [
    ['null', null, 'tombstone'],
    ['empty', Buffer.alloc(0), 'tombstone'],
    ['huge', Buffer.alloc(5000, 0x20), 'too_large'],
    ['invalid utf-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 'invalid_utf8'],
    ['truncated', bytes(SEED_EVENT_VALUE.slice(0, 40)), 'not_json'],
    ['array', bytes([1, 2]), 'not_object'],
    ['number', bytes('42'), 'not_object'],
    ['JSON null', bytes('null'), 'not_object'],
    ['missing id', bytes({ ...seed, adv_campaign_id: undefined }), 'schema'],
    ['bad uuid', bytes({ ...seed, restaurant_id: 'not-a-uuid' }), 'schema'],
    ['string time', bytes({ ...seed, adv_campaign_datetime_start: '1659203516' }), 'schema'],
    ['float time', bytes({ ...seed, adv_campaign_datetime_start: 1.5 }), 'schema'],
    ['negative time', bytes({ ...seed, adv_campaign_datetime_end: -1 }), 'schema'],
    ['content not string', bytes({ ...seed, adv_campaign_content: 5 }), 'schema'],
    ['value over the byte limit', bytes({ ...seed, adv_campaign_content: 'x'.repeat(5000) }), 'too_large'],
    ['ms timestamp', bytes({ ...seed, adv_campaign_datetime_end: 2659207116000 }), 'timestamp_range'],
    ['NUL in content', bytes({ ...seed, adv_campaign_content: 'a\u0000b' }), 'schema'],
    ['end before start', bytes({ ...seed, adv_campaign_datetime_end: 1659203515 }), 'end_before_start'],
  ]
  for (const [name, value, code] of cases) assert.equal(codeOf(value), code, name)
})

test('content over 4096 characters is a schema error even when the value fits', () => {
  const r = decodeEvent(bytes({ ...seed, adv_campaign_content: 'x'.repeat(4097) }), { ...opts, maxBytes: 65536 })
  assert.ok(!r.ok)
  assert.equal(r.rejection.code, 'schema')
})

test('schema rejections name the offending field', () => {
  const r = decodeEvent(bytes({ ...seed, restaurant_id: 'nope' }), opts)
  assert.ok(!r.ok)
  assert.match(r.rejection.reason, /restaurant_id/)
})

test('deep nesting is rejected, not a crash', () => {
  const deep = '['.repeat(2000) + ']'.repeat(2000)
  assert.equal(codeOf(bytes(deep)), 'not_object')
  assert.equal(codeOf(bytes(`{"a":${deep}}`)), 'schema')
})
