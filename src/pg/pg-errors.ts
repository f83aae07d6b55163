import pg from 'pg'
import { ErrorCodes, OfferstreamError } from '../errors.ts'

// SQLSTATE classes that clear up by themselves: connection trouble (08), serialization failure and
// deadlock (40), insufficient resources (53), operator intervention such as a shutdown (57), and
// system errors (58). Everything else (syntax, constraint, permission, authentication 28...) is a
// defect or a setup problem that no retry cures.
const RETRYABLE_CLASSES = new Set(['08', '40', '53', '57', '58'])
// And two of class 25: the server ended a session whose transaction waited too long for its client
// (idle_in_transaction_session_timeout, transaction_timeout). The transaction was rolled back; it
// happens to a starved or paused process, and the next attempt is fenced by the shard epoch if the
// shard moved meanwhile. Seen as exit 1 under load before this (issue 20's runs).
const RETRYABLE_CODES = new Set(['25P03', '25P04'])

// Node's errno codes for a socket that could not be opened or was lost.
const NETWORK_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
])

// pg reports a lost or timed-out connection with a bare `new Error(message)`: no SQLSTATE, no errno,
// no class of its own. The only thing that tells them apart from a bug is the exact message pg
// itself writes, so they are recognised by shape (a plain Error without a code) and by these exact
// strings from pg/lib/client.js and pg-pool/index.js, never by a pattern over arbitrary messages.
const PG_CONNECTION_LOST = new Set([
  'Connection terminated',
  'Connection terminated unexpectedly',
  'Connection terminated due to connection timeout',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'Query read timeout',
])

function isConnectionLost(e: unknown, depth = 0): boolean {
  if (!(e instanceof Error) || depth > 3) return false
  const errno = (e as NodeJS.ErrnoException).code
  if (typeof errno === 'string' && NETWORK_ERRNOS.has(errno)) return true
  if (Object.getPrototypeOf(e) === Error.prototype && !('code' in e) && PG_CONNECTION_LOST.has(e.message)) return true
  // pg-pool wraps the socket error of a failed connect: "Connection terminated due to connection timeout", cause ECONNREFUSED.
  return isConnectionLost(e.cause, depth + 1)
}

/** Translates anything pg or pg-pool throws into the service's error type, from SQLSTATE and errno. */
export function translatePgError(error: unknown): OfferstreamError {
  if (error instanceof OfferstreamError) return error
  const message = error instanceof Error ? error.message : String(error)
  if (isConnectionLost(error)) {
    return new OfferstreamError(ErrorCodes.PG_UNAVAILABLE, `PostgreSQL unavailable: ${message}`, { retryable: true, cause: error })
  }
  // What the server reported, connection phase included (28P01 bad password, 57P03 starting up).
  if (error instanceof pg.DatabaseError && error.code) {
    const code = error.code
    if (RETRYABLE_CLASSES.has(code.slice(0, 2)) || RETRYABLE_CODES.has(code)) {
      const kind = code.startsWith('40') ? ErrorCodes.PG_CONFLICT : ErrorCodes.PG_UNAVAILABLE
      return new OfferstreamError(kind, `PostgreSQL ${code}: ${message}`, { retryable: true, cause: error })
    }
    return new OfferstreamError(ErrorCodes.PG_FAILED, `PostgreSQL ${code}: ${message}`, { cause: error })
  }
  return new OfferstreamError(ErrorCodes.PG_FAILED, `PostgreSQL error: ${message}`, { cause: error })
}
