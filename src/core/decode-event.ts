import type { Campaign, CancelOrder } from './campaign.ts'
import { CAMPAIGN_STATUSES, CancelValidator, EventValidator } from './event-schema.ts'
import { jsonObjectOf, MAX_UNIX_SECONDS, schemaReason } from './json-value.ts'
import { RejectCodes, type Rejection } from './reject-reason.ts'

export type DecodeResult = { ok: true; campaign: Campaign } | { ok: true; cancel: CancelOrder } | { ok: false; rejection: Rejection }

export interface DecodeOptions {
  maxBytes: number
  /** Kafka record timestamp in ms; used when the event carries no datetime_created. */
  recordTimestampMs: number
}

function reject(code: Rejection['code'], reason: string): DecodeResult {
  return { ok: false, rejection: { code, reason } }
}

/** Bytes of one restaurant_actions value to a campaign or a cancel, or the reason it is neither. Never throws. */
export function decodeEvent(value: Uint8Array | null | undefined, opts: DecodeOptions): DecodeResult {
  const json = jsonObjectOf(value, opts.maxBytes)
  if (!json.ok) return json
  const parsed = json.value
  const status = (parsed as { adv_campaign_status?: unknown }).adv_campaign_status ?? 'active'
  if (!(CAMPAIGN_STATUSES as readonly unknown[]).includes(status)) {
    return reject(
      RejectCodes.SCHEMA,
      `/adv_campaign_status must be "active" or "cancelled" (or absent), not ${JSON.stringify(status).slice(0, 64)}`,
    )
  }
  if (status === 'cancelled') {
    if (!CancelValidator.Check(parsed)) return reject(RejectCodes.SCHEMA, schemaReason(CancelValidator.Errors(parsed)))
    return { ok: true, cancel: { restaurantId: parsed.restaurant_id.toLowerCase(), campaignId: parsed.adv_campaign_id.toLowerCase() } }
  }
  if (!EventValidator.Check(parsed)) {
    return reject(RejectCodes.SCHEMA, schemaReason(EventValidator.Errors(parsed)))
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
