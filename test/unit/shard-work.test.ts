import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decodeShardWork, encodeShardWork, shardWork } from '../../src/core/shard-work.ts'

const ev = (shard: number, status: 'fanning' | 'pending' | 'expired', start = 0) => ({ shard, status, campaign: { start } })

test('shard work: fanning, the earliest pending start and rejects, per shard', () => {
  const work = shardWork(
    [ev(1, 'fanning'), ev(1, 'pending', 900), ev(1, 'pending', 500), ev(2, 'expired'), ev(3, 'pending', 700)],
    [{ shard: 3 }],
  )
  assert.deepEqual(
    [...work].sort((a, b) => a[0] - b[0]),
    [
      [1, { fanning: true, pendingStart: 500, rejects: false }],
      [2, { fanning: false, pendingStart: null, rejects: false }],
      [3, { fanning: false, pendingStart: 700, rejects: true }],
    ],
  )
})

test('a notification payload round-trips, and a "/" in the sender cannot break it', () => {
  for (const work of [
    { fanning: true, pendingStart: null, rejects: false },
    { fanning: false, pendingStart: 1_800_000_000, rejects: true },
    { fanning: true, pendingStart: 0, rejects: true },
    { fanning: false, pendingStart: null, rejects: false },
  ]) {
    const payload = encodeShardWork(7, 'host/a:12', work)
    assert.deepEqual(decodeShardWork(payload), { shard: 7, sender: 'host_a:12', work }, payload)
  }
})

test('a bare shard number (an older release, the feedback intake) carries no detail; garbage names no shard', () => {
  assert.deepEqual(decodeShardWork('11'), { shard: 11 })
  assert.deepEqual(decodeShardWork('4/x/f/soon'), { shard: 4 }, 'a bad start falls back to "anything may be new"')
  assert.deepEqual(decodeShardWork('4/x'), { shard: 4 })
  for (const bad of ['', 'x', '-1', '1.5', '/a/f/']) assert.equal(decodeShardWork(bad), undefined, bad)
})
