import Type from 'typebox'
import { Compile } from 'typebox/compile'
import { Uuid } from './event-schema.ts'
import { asObject, jsonObjectOf, MAX_UNIX_SECONDS, schemaReason } from './json-value.ts'
import { RejectCodes, type Rejection } from './reject-reason.ts'

/** What the app may report about a push. Stored as text; add, never rename. */
export const FEEDBACK_KINDS = ['delivered', 'opened', 'clicked', 'redeemed', 'dismissed'] as const

export type FeedbackKind = (typeof FEEDBACK_KINDS)[number]

/**
 * The order of "how far the user got", lowest first; subscribers_feedback.feedback only ever moves
 * up it. Dismissing outranks mere delivery (the user saw the push) but any engagement outranks the
 * dismissal: a user who swiped the push away and opened it later from the notification list did open it.
 */
export const FEEDBACK_STAGES: readonly FeedbackKind[] = ['delivered', 'dismissed', 'opened', 'clicked', 'redeemed']

// Far above a real feedback (a comment of 1000 characters is at most 4000 bytes), far below what
// would hurt: larger values are rejected before parsing.
/** @internal also used by tests */
export const MAX_FEEDBACK_BYTES = 16384

/** One feedback event, as the app sends it through Kafka (push_feedback) or HTTP. */
export const FeedbackSchema = Type.Object(
  {
    adv_campaign_id: Uuid,
    client_id: Uuid,
    feedback: Type.Enum([...FEEDBACK_KINDS]),
    datetime_created: Type.Integer({
      minimum: 0,
      maximum: MAX_UNIX_SECONDS - 1,
      description: 'When it happened on the device, unix seconds',
    }),
    rating: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 5 }), Type.Null()])),
    // PostgreSQL text cannot hold U+0000.
    comment: Type.Optional(Type.Union([Type.String({ maxLength: 1000, pattern: '^[^\\u0000]*$' }), Type.Null()])),
  },
  { description: 'What a user did with one push' },
)

export type Feedback = Type.Static<typeof FeedbackSchema>

const FeedbackValidator = Compile(FeedbackSchema)

type FeedbackDecodeResult = { ok: true; feedback: Feedback } | { ok: false; rejection: Rejection }

function reject(code: Rejection['code'], reason: string): FeedbackDecodeResult {
  return { ok: false, rejection: { code, reason } }
}

/**
 * A push_feedback value (bytes) or an already parsed JSON value to a feedback, or the reason it
 * cannot be one. Never throws. Ids come back lower-case; null rating/comment become absent.
 */
export function decodeFeedback(input: unknown): FeedbackDecodeResult {
  const json =
    input === null || input === undefined || input instanceof Uint8Array ? jsonObjectOf(input, MAX_FEEDBACK_BYTES) : asObject(input)
  if (!json.ok) return json
  const parsed = json.value
  const created = (parsed as { datetime_created?: unknown }).datetime_created
  if (typeof created === 'number' && created >= MAX_UNIX_SECONDS) {
    return reject(RejectCodes.TIMESTAMP_RANGE, `datetime_created ${created} is not unix seconds (milliseconds?)`)
  }
  if (!FeedbackValidator.Check(parsed)) {
    return reject(RejectCodes.SCHEMA, schemaReason(FeedbackValidator.Errors(parsed)))
  }
  const f = parsed
  const feedback: Feedback = {
    adv_campaign_id: f.adv_campaign_id.toLowerCase(),
    client_id: f.client_id.toLowerCase(),
    feedback: f.feedback,
    datetime_created: f.datetime_created,
  }
  if (f.rating != null) feedback.rating = f.rating
  if (f.comment != null) feedback.comment = f.comment
  return { ok: true, feedback }
}
