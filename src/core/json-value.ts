import { RejectCodes, type Rejection } from './reject-reason.ts'

// The steps every JSON input (restaurant_actions, push_feedback) goes through before its own
// schema, in one place so both inputs reject the same bad bytes with the same codes and reasons.

/** Above this a "unix seconds" value is almost surely milliseconds (it would be past the year 5000). */
export const MAX_UNIX_SECONDS = 100_000_000_000

export type JsonObjectResult = { ok: true; value: object } | { ok: false; rejection: Rejection }

const utf8 = new TextDecoder('utf-8', { fatal: true })
const reject = (code: Rejection['code'], reason: string): JsonObjectResult => ({ ok: false, rejection: { code, reason } })

/** Record value bytes to a JSON object, or why they are not one: empty, too large, not UTF-8, not JSON. */
export function jsonObjectOf(value: Uint8Array | null | undefined, maxBytes: number): JsonObjectResult {
  if (value === null || value === undefined || value.length === 0) return reject(RejectCodes.TOMBSTONE, 'value is null or empty')
  if (value.length > maxBytes) return reject(RejectCodes.TOO_LARGE, `value is ${value.length} bytes, limit is ${maxBytes}`)
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
  return asObject(parsed)
}

/** An already parsed JSON value (e.g. an HTTP body): only objects pass. */
export function asObject(parsed: unknown): JsonObjectResult {
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return reject(RejectCodes.NOT_OBJECT, 'value is JSON but not an object')
  }
  return { ok: true, value: parsed }
}

/** The first few schema errors of a value, as one reason naming the fields. */
export function schemaReason(errors: Iterable<{ instancePath: string; message: string }>): string {
  return [...errors]
    .slice(0, 3)
    .map(e => `${e.instancePath || '/'} ${e.message}`)
    .join('; ')
}
