import type { Campaign } from './campaign.ts'
import { EventValidator } from './event-schema.ts'
import { RejectCodes, type Rejection } from './reject-reason.ts'

export type DecodeResult = { ok: true; campaign: Campaign } | { ok: false; rejection: Rejection }

export interface DecodeOptions {
  maxBytes: number
  /** Kafka record timestamp in ms; used when the event carries no datetime_created. */
  recordTimestampMs: number
}

// Above this a "unix seconds" value is almost surely milliseconds (it would be past the year 5000).
export const MAX_UNIX_SECONDS = 100_000_000_000

const utf8 = new TextDecoder('utf-8', { fatal: true })

function reject(code: Rejection['code'], reason: string): DecodeResult {
  return { ok: false, rejection: { code, reason } }
}

/** Bytes of one restaurant_actions value to a campaign, or the reason it cannot be one. Never throws. */
export function decodeEvent(value: Uint8Array | null | undefined, opts: DecodeOptions): DecodeResult {
  if (value === null || value === undefined || value.length === 0) {
    return reject(RejectCodes.TOMBSTONE, 'value is null or empty')
  }
  if (value.length > opts.maxBytes) {
    return reject(RejectCodes.TOO_LARGE, `value is ${value.length} bytes, limit is ${opts.maxBytes}`)
  }
  let text: string
  try {
    text = utf8.decode(value)
  } catch {
    return reject(RejectCodes.INVALID_UTF8, 'value is not valid UTF-8')
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    return reject(RejectCodes.NOT_JSON, `value is not JSON: ${(error as Error).message.slice(0, 200)}`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return reject(RejectCodes.NOT_OBJECT, 'value is JSON but not an object')
  }
  if (!EventValidator.Check(parsed)) {
    const problems = EventValidator.Errors(parsed)
      .slice(0, 3)
      .map(e => `${e.instancePath || '/'} ${e.message}`)
    return reject(RejectCodes.SCHEMA, problems.join('; '))
  }
  const e = parsed
  for (const [name, v] of [
    ['adv_campaign_datetime_start', e.adv_campaign_datetime_start],
    ['adv_campaign_datetime_end', e.adv_campaign_datetime_end],
    ['datetime_created', e.datetime_created ?? 0],
  ] as const) {
    if (v >= MAX_UNIX_SECONDS) {
      return reject(RejectCodes.TIMESTAMP_RANGE, `${name} ${v} is not unix seconds (milliseconds?)`)
    }
  }
  for (const [name, v] of [
    ['adv_campaign_content', e.adv_campaign_content],
    ['adv_campaign_owner', e.adv_campaign_owner],
    ['adv_campaign_owner_contact', e.adv_campaign_owner_contact],
  ] as const) {
    // PostgreSQL text cannot store U+0000; accepting it would fail the whole batch later.
    if (v?.includes('\u0000')) return reject(RejectCodes.SCHEMA, `/${name} must not contain U+0000`)
  }
  if (e.adv_campaign_datetime_end < e.adv_campaign_datetime_start) {
    return reject(RejectCodes.END_BEFORE_START, 'adv_campaign_datetime_end is before adv_campaign_datetime_start')
  }
  return {
    ok: true,
    campaign: {
      restaurantId: e.restaurant_id.toLowerCase(),
      campaignId: e.adv_campaign_id.toLowerCase(),
      content: e.adv_campaign_content,
      owner: e.adv_campaign_owner ?? null,
      ownerContact: e.adv_campaign_owner_contact ?? null,
      start: e.adv_campaign_datetime_start,
      end: e.adv_campaign_datetime_end,
      created: e.datetime_created ?? Math.floor(opts.recordTimestampMs / 1000),
    },
  }
}
