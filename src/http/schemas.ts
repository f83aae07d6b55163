import Type from 'typebox'
import { Uuid } from '../core/event-schema.ts'
import { FEEDBACK_KINDS, FeedbackSchema } from '../core/feedback.ts'

// Request schemas are what fastify validates with (src/http/validate.ts); response schemas document
// what the handlers return, and the integration tests check real responses against them.

export const IdParams = Type.Object({ id: Uuid })

// The durations parseDuration (src/core/duration.ts) accepts, so validation and parsing agree.
const DURATION_PATTERN = '^[0-9]{1,9}[smhdw]$'

export const SinceQuery = Type.Object({
  since: Type.Optional(
    Type.String({ pattern: DURATION_PATTERN, description: 'campaigns running at some point in the last 90s/15m/12h/7d/2w; default 7d' }),
  ),
})

export const MAX_FEEDBACK_BATCH = 1000

const FeedbackBatchSchema = Type.Object({
  // Any value is a valid item (answered, not refused): the schema says what an item should be and
  // that anything else is answered in its slot, so a contract checker does not expect a 400 for it.
  items: Type.Array(Type.Union([FeedbackSchema, Type.Unknown()]), {
    minItems: 1,
    maxItems: MAX_FEEDBACK_BATCH,
    description:
      'Feedback objects, each validated on its own: an item that is not one gets outcome "invalid" in its slot, the others are recorded',
  }),
})

export const FeedbackBodySchema = Type.Union([FeedbackSchema, FeedbackBatchSchema])

export const FeedbackResultSchema = Type.Object({
  outcome: Type.Enum(['recorded', 'duplicate', 'unknown_push', 'outside_window', 'invalid']),
  reason: Type.Optional(Type.String()),
})

export const FeedbackBatchResultSchema = Type.Object({
  results: Type.Array(FeedbackResultSchema, { description: 'one per item, in order' }),
})

export const ErrorSchema = Type.Object({ statusCode: Type.Integer(), error: Type.String(), message: Type.String() })

const Nullable = <T extends Type.TSchema>(t: T) => Type.Union([t, Type.Null()])

export const CampaignStatsSchema = Type.Object({
  campaignId: Uuid,
  restaurantId: Uuid,
  content: Nullable(Type.String({ description: "the current version's; null while only a cancel of the campaign was received" })),
  start: Nullable(Type.Integer({ description: "the current version's window start, unix seconds; null while only a cancel was received" })),
  end: Nullable(Type.Integer()),
  version: Nullable(Type.Integer({ description: "the current version's datetime_created (the highest received)" })),
  versions: Type.Integer({ minimum: 0, description: 'campaign records received for this id' }),
  cancelledAt: Nullable(Type.String({ description: 'when the cancel was committed; null if not cancelled' })),
  status: Type.String({ description: 'pending | fanning | done | expired | cancelled' }),
  pushed: Type.Integer({ minimum: 0 }),
  suppressed: Type.Integer({ minimum: 0, description: 'pairs a frequency cap kept from being pushed' }),
  feedback: Type.Object(Object.fromEntries(FEEDBACK_KINDS.map(k => [k, Type.Integer({ minimum: 0 })]))),
  responded: Type.Integer({ minimum: 0 }),
  responseRate: Type.Number({ minimum: 0 }),
  firstFeedbackSeconds: Type.Object({ p50: Nullable(Type.Number()), avg: Nullable(Type.Number()) }),
})

export const RestaurantCampaignsSchema = Type.Object({ campaigns: Type.Array(CampaignStatsSchema) })

export const CancelBodySchema = Type.Object({
  restaurant_id: Uuid,
})

export const CancelResultSchema = Type.Object({
  outcome: Type.Enum(['cancelled', 'already_cancelled']),
  campaignId: Uuid,
  restaurantId: Uuid,
  cancelledAt: Type.String({ description: 'when the cancel was committed; no push of the campaign commits after it' }),
  seen: Type.Boolean({ description: 'false: no record of the campaign was received yet; it will never fan out' }),
  pushedBeforeCancel: Type.Integer({ minimum: 0, description: 'pushes committed before the cancel: they stay and are published' }),
  notPushed: Type.Integer({ minimum: 0, description: "the restaurant's subscribers not reached, who now never will be" }),
})
