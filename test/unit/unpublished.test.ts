import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Unpublished } from '../../src/service/unpublished.ts'

test('counts rows written minus rows published, never below zero; a drained read resets it', () => {
  const u = new Unpublished(1000)
  let calls = 0
  u.onRoom(() => calls++)
  u.written(700)
  u.written(500)
  assert.equal(u.rows, 1200)
  assert.equal(u.room(), -200)
  u.published(300, false)
  assert.deepEqual([u.rows, u.room(), calls], [900, 100, 1])
  // Rows a previous owner left: published here, never written here.
  u.published(5000, false)
  assert.deepEqual([u.rows, calls], [0, 2])
  u.written(400)
  u.published(0, true)
  assert.deepEqual([u.rows, calls], [0, 3])
  // Nothing fell: no wake.
  u.published(0, true)
  assert.equal(calls, 3)
})

test('limit 0 never holds a campaign back', () => {
  const u = new Unpublished(0)
  u.written(10_000_000)
  assert.equal(u.room(), Number.POSITIVE_INFINITY)
})
