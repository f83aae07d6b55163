import assert from 'node:assert/strict'
import { test } from 'node:test'
import { durationSeconds } from '../../src/core/duration.ts'

test('durations in seconds, minutes, hours and days', () => {
  assert.equal(durationSeconds('90s'), 90)
  assert.equal(durationSeconds('15m'), 900)
  assert.equal(durationSeconds('12h'), 43200)
  assert.equal(durationSeconds('7d'), 604800)
})

test('anything else is not a duration', () => {
  for (const bad of ['', '7', 'd', '0d', '-1d', '1.5h', '7 d', '7w', '12345678d']) assert.equal(durationSeconds(bad), undefined, bad)
})
