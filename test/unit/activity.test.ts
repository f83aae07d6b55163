import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { stateAt } from '../../src/core/activity.ts'
import { CAMPAIGN_STATES } from '../../src/core/campaign-state.ts'

const margin = 600

test('fanning from start to end minus margin, both edges included', () => {
  assert.equal(stateAt(1000, 5000, 1000, margin), 'fanning')
  assert.equal(stateAt(1000, 5000, 4400, margin), 'fanning')
  assert.equal(stateAt(1000, 5000, 3000, margin), 'fanning')
})

test('before start is pending, past end minus margin is expired', () => {
  assert.equal(stateAt(1000, 5000, 999, margin), 'pending')
  assert.equal(stateAt(1000, 5000, 4401, margin), 'expired')
  assert.equal(stateAt(1000, 5000, 9000, margin), 'expired')
})

test('a window shorter than the margin is never fanned out', () => {
  assert.equal(stateAt(1000, 1500, 500, margin), 'expired')
  assert.equal(stateAt(1000, 1500, 1000, margin), 'expired')
})

test('margin is configurable, zero included', () => {
  assert.equal(stateAt(1000, 5000, 5000, 0), 'fanning')
  assert.equal(stateAt(1000, 5000, 4000, 1000), 'fanning')
  assert.equal(stateAt(1000, 5000, 4000, 1001), 'expired')
})

test("the core's states are exactly the values the events table accepts", () => {
  // The constraint as migration 000005 (cancel) last redefined it.
  const sql = readFileSync(new URL('../../src/pg/migrations/000005_campaigns.sql', import.meta.url), 'utf8')
  const check = /check \(status in \(([^)]*)\)\)/.exec(sql)
  assert.ok(check, 'status CHECK constraint not found in the migration')
  const allowed = (check[1] ?? '').split(',').map(s => s.trim().replaceAll("'", ''))
  assert.deepEqual(allowed.sort(), [...CAMPAIGN_STATES].sort())
})
