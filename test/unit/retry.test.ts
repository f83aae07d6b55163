import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ErrorCodes, OfferstreamError } from '../../src/errors.ts'
import { backoffDelay } from '../../src/service/backoff.ts'
import { retry } from '../../src/service/retry.ts'
import { FakeClock, until } from './support/fakes.ts'

const transient = () => new OfferstreamError(ErrorCodes.PG_UNAVAILABLE, 'down', { retryable: true })

test('backoff: equal jitter, the ceiling doubling from 100 ms up to the cap', () => {
  assert.equal(
    backoffDelay(0, 5000, () => 0),
    50,
  )
  assert.equal(
    backoffDelay(0, 5000, () => 0.999_999),
    99,
  )
  assert.equal(
    backoffDelay(3, 5000, () => 0),
    400,
  )
  assert.equal(
    backoffDelay(10, 5000, () => 0),
    2500,
  )
  assert.equal(
    backoffDelay(10, 5000, () => 0.999_999),
    4999,
  )
  assert.equal(
    backoffDelay(1000, 5000, () => 0.5),
    3750,
    'no overflow for a long outage',
  )
})

test('retry: retryable errors are retried after the backoff, the result returned', async () => {
  const clock = new FakeClock()
  clock.auto = true
  let calls = 0
  const seen: number[] = []
  const result = await retry(
    async () => {
      if (++calls < 4) throw transient()
      return 'ok'
    },
    { clock, maxDelayMs: 5000, random: () => 0, onRetry: (_e, attempt) => void seen.push(attempt) },
  )
  assert.equal(result, 'ok')
  assert.deepEqual(clock.sleeps, [50, 100, 200])
  assert.deepEqual(seen, [1, 2, 3])
})

test('retry: a non-retryable error or a plain Error is thrown at once', async () => {
  const clock = new FakeClock()
  const fatal = new OfferstreamError(ErrorCodes.PG_FAILED, 'syntax error')
  await assert.rejects(
    retry(() => Promise.reject(fatal), { clock, maxDelayMs: 100 }),
    fatal,
  )
  await assert.rejects(
    retry(() => Promise.reject(new TypeError('bug')), { clock, maxDelayMs: 100 }),
    TypeError,
  )
  assert.deepEqual(clock.sleeps, [])
})

test('retry: gives up after its retries with the last error', async () => {
  const clock = new FakeClock()
  clock.auto = true
  let calls = 0
  await assert.rejects(
    retry(
      async () => {
        calls++
        throw transient()
      },
      { clock, maxDelayMs: 100, retries: 2 },
    ),
    /down/,
  )
  assert.equal(calls, 3)
})

test('retry: an abort during the backoff throws the error in hand without another attempt', async () => {
  const clock = new FakeClock()
  const stop = new AbortController()
  let calls = 0
  const p = retry(
    async () => {
      calls++
      throw transient()
    },
    { clock, maxDelayMs: 100, signal: stop.signal },
  )
  await until(() => clock.waiting === 1, 'the backoff')
  stop.abort()
  await assert.rejects(p, /down/)
  assert.equal(calls, 1)
})
