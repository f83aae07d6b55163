import { isRetryable, type OfferstreamError } from '../errors.ts'
import { backoffDelay } from './backoff.ts'
import type { Clock } from './ports.ts'

export interface RetryOptions {
  clock: Clock
  maxDelayMs: number
  /** Stops retrying: the error in hand is thrown instead of waiting for the next attempt. */
  signal?: AbortSignal
  /** Retries before giving up; unbounded when absent. */
  retries?: number
  /** Called before each backoff, e.g. to log, count and drop clients that must be rebuilt. */
  onRetry?: (error: OfferstreamError, attempt: number, delayMs: number) => void | Promise<void>
  random?: () => number
}

/** Runs fn until it succeeds. Non-retryable errors, a spent retry budget or an aborted signal rethrow. */
export async function retry<T>(fn: () => Promise<T>, o: RetryOptions): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn()
    } catch (error) {
      if (!isRetryable(error) || o.signal?.aborted || (o.retries !== undefined && attempt >= o.retries)) throw error
      const delay = backoffDelay(attempt, o.maxDelayMs, o.random)
      await o.onRetry?.(error as OfferstreamError, attempt + 1, delay)
      await o.clock.sleep(delay, o.signal)
      if (o.signal?.aborted) throw error
    }
  }
}
