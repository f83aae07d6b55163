import assert from 'node:assert/strict'
import { getEventListeners } from 'node:events'
import { test } from 'node:test'
import { systemClock, WOKEN } from '../../src/service/clock.ts'

test('sleep ends after its time when nobody wakes it', async () => {
  const start = performance.now()
  await systemClock.sleep(20)
  assert.ok(performance.now() - start >= 19, 'slept its time')
})

test('a wake ends a long sleep at once and leaves no listener behind', async () => {
  const wake = new AbortController()
  const start = performance.now()
  const slept = systemClock.sleep(60_000, wake.signal)
  assert.equal(getEventListeners(wake.signal, 'abort').length, 1)
  wake.abort(WOKEN)
  await slept
  assert.ok(performance.now() - start < 5_000, 'woken long before the minute')
  assert.equal(getEventListeners(wake.signal, 'abort').length, 0)
  assert.equal(wake.signal.reason, WOKEN, 'the reason is the constant, not a DOMException')
})

test('a sleep that ends by time removes its abort listener', async () => {
  const wake = new AbortController()
  await systemClock.sleep(1, wake.signal)
  assert.equal(getEventListeners(wake.signal, 'abort').length, 0)
})

test('a sleep on an already aborted signal returns at once', async () => {
  const wake = new AbortController()
  wake.abort(WOKEN)
  const start = performance.now()
  await systemClock.sleep(60_000, wake.signal)
  assert.ok(performance.now() - start < 5_000)
})
