import assert from 'node:assert/strict'
import { test } from 'node:test'
import { activityAt } from '../../src/core/activity.ts'

const margin = 600

test('active from start to end minus margin, both edges included', () => {
  assert.equal(activityAt(1000, 5000, 1000, margin), 'active')
  assert.equal(activityAt(1000, 5000, 4400, margin), 'active')
  assert.equal(activityAt(1000, 5000, 3000, margin), 'active')
})

test('before start is early, past end minus margin is expired', () => {
  assert.equal(activityAt(1000, 5000, 999, margin), 'early')
  assert.equal(activityAt(1000, 5000, 4401, margin), 'expired')
  assert.equal(activityAt(1000, 5000, 9000, margin), 'expired')
})

test('a window shorter than the margin is never active', () => {
  assert.equal(activityAt(1000, 1500, 500, margin), 'expired')
  assert.equal(activityAt(1000, 1500, 1000, margin), 'expired')
})

test('margin is configurable, zero included', () => {
  assert.equal(activityAt(1000, 5000, 5000, 0), 'active')
  assert.equal(activityAt(1000, 5000, 4000, 1000), 'active')
  assert.equal(activityAt(1000, 5000, 4000, 1001), 'expired')
})
