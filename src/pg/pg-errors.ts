import { ErrorCodes, OfferstreamError } from '../errors.ts'

// SQLSTATE classes that clear up by themselves: connection trouble (08), serialization and
// deadlock (40), insufficient resources (53), operator intervention such as a shutdown (57),
// and system errors (58).
const RETRYABLE_CLASSES = new Set(['08', '40', '53', '57', '58'])
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN'])

export function translatePgError(error: unknown): OfferstreamError {
  if (error instanceof OfferstreamError) return error
  const e = error as { code?: string; message?: string }
  const code = typeof e?.code === 'string' ? e.code : ''
  const message = e?.message ?? String(error)
  if (
    NETWORK_CODES.has(code) ||
    /Connection terminated|connection timeout|Client has encountered a connection error|not queryable/i.test(message)
  ) {
    return new OfferstreamError(ErrorCodes.PG_UNAVAILABLE, `PostgreSQL unavailable: ${message}`, { retryable: true, cause: error })
  }
  if (code.length === 5 && RETRYABLE_CLASSES.has(code.slice(0, 2))) {
    const kind = code.startsWith('40') ? ErrorCodes.PG_CONFLICT : ErrorCodes.PG_UNAVAILABLE
    return new OfferstreamError(kind, `PostgreSQL ${code}: ${message}`, { retryable: true, cause: error })
  }
  return new OfferstreamError(ErrorCodes.PG_FAILED, `PostgreSQL ${code || 'error'}: ${message}`, { cause: error })
}
