import { ErrorCodes, OfferstreamError } from '../errors.ts'

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const inner = (error as AggregateError).errors
  const parts = [error.message]
  if (Array.isArray(inner)) for (const e of inner.slice(0, 3)) parts.push(describe(e))
  if (error.cause) parts.push(describe(error.cause))
  return parts.join(' <- ')
}

export function translateKafkaError(error: unknown): OfferstreamError {
  if (error instanceof OfferstreamError) return error
  const text = describe(error)
  const code = (error as { code?: string })?.code ?? ''
  if (/FENCED|INVALID_PRODUCER_EPOCH|ProducerFenced/i.test(text)) {
    // A newer incarnation owns the transactional id. Rebuilding the producer re-reads durable state.
    return new OfferstreamError(ErrorCodes.KAFKA_FENCED, `Kafka producer fenced: ${text}`, { retryable: true, cause: error })
  }
  if (code === 'PLT_KFK_AUTHENTICATION' || code === 'PLT_KFK_USER' || /SASL|authenticat|authoriz/i.test(text)) {
    return new OfferstreamError(ErrorCodes.KAFKA_FAILED, `Kafka rejected the client: ${text}`, { retryable: false, cause: error })
  }
  if (
    code === 'PLT_KFK_NETWORK' ||
    code === 'PLT_KFK_TIMEOUT' ||
    /ECONNREFUSED|ECONNRESET|EPIPE|timed? ?out|closed|NOT_COORDINATOR|COORDINATOR_NOT_AVAILABLE|LEADER_NOT_AVAILABLE|NOT_LEADER/i.test(text)
  ) {
    return new OfferstreamError(ErrorCodes.KAFKA_UNAVAILABLE, `Kafka unavailable: ${text}`, { retryable: true, cause: error })
  }
  // Anything else from the broker: rebuild the clients from durable state and try again.
  return new OfferstreamError(ErrorCodes.KAFKA_FAILED, `Kafka error: ${text}`, { retryable: true, cause: error })
}
