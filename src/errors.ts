// One error type for the whole service. Adapters translate driver errors (pg, Kafka) into it once,
// so the loops above them decide "retry or give up" from `retryable` alone.

export const ErrorCodes = {
  CONFIG_INVALID: 'CONFIG_INVALID',
  KAFKA_UNAVAILABLE: 'KAFKA_UNAVAILABLE',
  KAFKA_FENCED: 'KAFKA_FENCED',
  KAFKA_FAILED: 'KAFKA_FAILED',
  PG_UNAVAILABLE: 'PG_UNAVAILABLE',
  PG_CONFLICT: 'PG_CONFLICT',
  PG_FAILED: 'PG_FAILED',
  /** This instance no longer owns the shard: another took it (a newer epoch); its work there stops. */
  SHARD_LOST: 'SHARD_LOST',
  /** The installed Kafka client lets aborted records through read_committed consumers; the service refuses to start (exit 2). */
  KAFKA_CLIENT_UNPATCHED: 'KAFKA_CLIENT_UNPATCHED',
  /**
   * PostgreSQL holds less than Kafka's committed state says it did: a failover lost committed
   * transactions (docs/pg-failover.md). Never retried: publishing on would push twice or skip.
   */
  PG_REGRESSION: 'PG_REGRESSION',
} as const

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes]

export class OfferstreamError extends Error {
  readonly code: ErrorCode
  readonly retryable: boolean

  constructor(code: ErrorCode, message: string, opts: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, { cause: opts.cause })
    this.name = 'OfferstreamError'
    this.code = code
    this.retryable = opts.retryable ?? false
  }
}

export function isRetryable(error: unknown): boolean {
  return error instanceof OfferstreamError && error.retryable
}
