// The closed list of reasons an input record goes to the dead-letter topic. Operators filter the DLQ
// by these codes, so they are part of the public contract: add, never rename.
export const RejectCodes = {
  TOMBSTONE: 'tombstone',
  TOO_LARGE: 'too_large',
  INVALID_UTF8: 'invalid_utf8',
  NOT_JSON: 'not_json',
  NOT_OBJECT: 'not_object',
  SCHEMA: 'schema',
  TIMESTAMP_RANGE: 'timestamp_range',
  END_BEFORE_START: 'end_before_start',
  // Feedback (push_feedback) for a (campaign, client) that was never pushed.
  UNKNOWN_PUSH: 'unknown_push',
  // A cancel or a version naming another restaurant than the campaign's (issue 17): not applied.
  RESTAURANT_MISMATCH: 'restaurant_mismatch',
} as const

export type RejectCode = (typeof RejectCodes)[keyof typeof RejectCodes]

export interface Rejection {
  code: RejectCode
  reason: string
}
