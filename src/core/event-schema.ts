import Type from 'typebox'
import { Compile } from 'typebox/compile'

// What a restaurant_actions value must look like. Required: the two ids, the content and the active
// window; optional: owner, owner contact (null when absent) and datetime_created (falls back to the
// Kafka record timestamp). Unknown extra fields are ignored so producers can add fields first.
export const Uuid = Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' })
const UnixSeconds = Type.Integer({ minimum: 0 })
const OptionalText = (maxLength: number) => Type.Optional(Type.Union([Type.String({ maxLength }), Type.Null()]))

const EventSchema = Type.Object({
  restaurant_id: Uuid,
  adv_campaign_id: Uuid,
  adv_campaign_content: Type.String({ minLength: 1, maxLength: 4096 }),
  adv_campaign_owner: OptionalText(512),
  adv_campaign_owner_contact: OptionalText(512),
  adv_campaign_datetime_start: UnixSeconds,
  adv_campaign_datetime_end: UnixSeconds,
  datetime_created: Type.Optional(Type.Union([UnixSeconds, Type.Null()])),
})

export const EventValidator = Compile(EventSchema)

// A cancel ("adv_campaign_status": "cancelled") needs only the two ids; other fields are ignored.
const CancelSchema = Type.Object({ restaurant_id: Uuid, adv_campaign_id: Uuid })

export const CancelValidator = Compile(CancelSchema)

/** Values of adv_campaign_status; absent (or null) is "active", today's campaign record. */
export const CAMPAIGN_STATUSES = ['active', 'cancelled'] as const
