import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseDuration } from '../../src/core/duration.ts'

test('durations in each unit, and plain seconds', () => {
  assert.equal(parseDuration('30d'), 30 * 86400)
  assert.equal(parseDuration('12h'), 43200)
  assert.equal(parseDuration('90m'), 5400)
  assert.equal(parseDuration('45s'), 45)
  assert.equal(parseDuration('2w'), 1209600)
  assert.equal(parseDuration(' 7 '), 7)
  assert.equal(parseDuration('0d'), 0)
})

test('anything else is refused', () => {
  for (const bad of ['', 'd', '30 days', '-1d', '1.5h', '30y', '1e3', '10000000000s']) assert.equal(parseDuration(bad), null, bad)
})
