import { AuthenticationError, GenericError, NetworkError, TimeoutError, UserError } from '@platformatic/kafka'
import { ErrorCodes, OfferstreamError } from '../errors.ts'

// Broker error ids (protocol/errors.js `id`) that say another producer incarnation owns the
// transactional id: this one must be rebuilt, which re-reads the cursor from committed state.
const FENCED = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED'])

// The broker refused these credentials or permissions: retrying with the same settings cannot help.
const REFUSED = new Set([
  'SASL_AUTHENTICATION_FAILED',
  'ILLEGAL_SASL_STATE',
  'UNSUPPORTED_SASL_MECHANISM',
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
])

// Leadership or coordinator moves and timeouts: the broker side of "unavailable for a moment".
const UNAVAILABLE = new Set([
  'NOT_COORDINATOR',
  'COORDINATOR_NOT_AVAILABLE',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_OR_FOLLOWER',
  'REQUEST_TIMED_OUT',
  'NETWORK_EXCEPTION',
  'NOT_ENOUGH_REPLICAS',
  'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
  'KAFKA_STORAGE_ERROR',
  'CONCURRENT_TRANSACTIONS',
])

/** Every error in the tree: the client nests per-attempt and per-partition errors in `errors` and `cause`. */
function* walk(error: unknown, depth = 0): Generator<unknown> {
  if (depth > 6 || error === null || error === undefined) return
  yield error
  if (error instanceof AggregateError) for (const e of error.errors) yield* walk(e, depth + 1)
  if (error instanceof Error && error.cause) yield* walk(error.cause, depth + 1)
}

const apiIdOf = (e: unknown): string | undefined =>
  GenericError.isGenericError(e as Error) ? ((e as GenericError & { apiId?: string }).apiId ?? undefined) : undefined

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const parts = [error.message]
  if (error instanceof AggregateError) for (const e of error.errors.slice(0, 3)) parts.push(describe(e))
  if (error.cause) parts.push(describe(error.cause))
  return parts.join(' <- ')
}

/**
 * Translates what @platformatic/kafka throws from its structured fields: the error classes and their
 * PLT_KFK_* codes, and the broker's protocol error ids carried as `apiId` anywhere in the nested
 * errors. Unknown failures are retried with rebuilt clients, since every client restarts from
 * durable state; only refused credentials and misuse of the client are fatal.
 */
export function translateKafkaError(error: unknown): OfferstreamError {
  if (error instanceof OfferstreamError) return error
  const text = describe(error)
  const all = [...walk(error)]
  const ids = new Set(all.map(apiIdOf).filter(id => id !== undefined))
  if ([...ids].some(id => FENCED.has(id))) {
    return new OfferstreamError(ErrorCodes.KAFKA_FENCED, `Kafka producer fenced: ${text}`, { retryable: true, cause: error })
  }
  // A UserError at the top is a misuse the client caught before talking to the broker; nested inside
  // a MultipleErrors (e.g. "Client closed while retrying") it only ends a retry sequence.
  if (all.some(e => e instanceof AuthenticationError) || [...ids].some(id => REFUSED.has(id)) || error instanceof UserError) {
    return new OfferstreamError(ErrorCodes.KAFKA_FAILED, `Kafka rejected the client: ${text}`, { retryable: false, cause: error })
  }
  if (all.some(e => e instanceof NetworkError || e instanceof TimeoutError) || [...ids].some(id => UNAVAILABLE.has(id))) {
    return new OfferstreamError(ErrorCodes.KAFKA_UNAVAILABLE, `Kafka unavailable: ${text}`, { retryable: true, cause: error })
  }
  // Anything else from the broker (INVALID_TXN_STATE, UNKNOWN_PRODUCER_ID, ...): rebuild and retry.
  return new OfferstreamError(ErrorCodes.KAFKA_FAILED, `Kafka error: ${text}`, { retryable: true, cause: error })
}
