import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decodeEvent } from '../../src/core/decode-event.ts'
import { pushMessage, pushMessageAround } from '../../src/core/push-message.ts'
import { SEED_EVENT_VALUE } from '../../testkit/seed.ts'

// Seed 000's push_message example, verbatim.
const SEED_PUSH =
  '{"restaurant_id":"123e4567-e89b-12d3-a456-426614174000","adv_campaign_id":"123e4567-e89b-12d3-a456-426614174003","adv_campaign_content":"first campaign","adv_campaign_owner":"Ivanov Ivan Ivanovich","adv_campaign_owner_contact":"iiivanov@restaurant.ru","adv_campaign_datetime_start":1659203516,"adv_campaign_datetime_end":2659207116,"client_id":"023e4567-e89b-12d3-a456-426614174000","datetime_created":1659131516,"trigger_datetime_created":1659304828}'

test('push message matches the seed example byte for byte', () => {
  const decoded = decodeEvent(Buffer.from(SEED_EVENT_VALUE), { maxBytes: 65536, recordTimestampMs: 0 })
  assert.ok(decoded.ok && 'campaign' in decoded)
  const msg = pushMessage(decoded.campaign, '023e4567-e89b-12d3-a456-426614174000', 1659304828)
  assert.equal(msg, SEED_PUSH)
})

test('push message escapes campaign text and keeps field order', () => {
  const msg = pushMessage(
    {
      restaurantId: 'r',
      campaignId: 'c',
      content: 'say "hi"\n\u{1F355}',
      owner: null,
      ownerContact: "x'; drop table t; --",
      start: 1,
      end: 2,
      created: 3,
    },
    'k',
    4,
  )
  const parsed = JSON.parse(msg)
  assert.deepEqual(Object.keys(parsed), [
    'restaurant_id',
    'adv_campaign_id',
    'adv_campaign_content',
    'adv_campaign_owner',
    'adv_campaign_owner_contact',
    'adv_campaign_datetime_start',
    'adv_campaign_datetime_end',
    'client_id',
    'datetime_created',
    'trigger_datetime_created',
  ])
  assert.equal(parsed.adv_campaign_content, 'say "hi"\n\u{1F355}')
  assert.equal(parsed.adv_campaign_owner, null)
  assert.equal(parsed.adv_campaign_owner_contact, "x'; drop table t; --")
  assert.equal(parsed.trigger_datetime_created, 4)
})

test('head + client id + tail is the push message', () => {
  const decoded = decodeEvent(Buffer.from(SEED_EVENT_VALUE), { maxBytes: 65536, recordTimestampMs: 0 })
  assert.ok(decoded.ok && 'campaign' in decoded)
  const { head, tail } = pushMessageAround(decoded.campaign, 1659304828)
  assert.equal(`${head}023e4567-e89b-12d3-a456-426614174000${tail}`, SEED_PUSH)
})
