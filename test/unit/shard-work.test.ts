import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decodeShardWork, encodeShardWork, oneShardToFanOut, shardWork } from '../../src/core/shard-work.ts'

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

test('a batch its shard writer may store: campaigns to fan out now, one shard, one restaurant per campaign, no rejects or cancels', () => {
  const c = (shard: number, status: 'fanning' | 'pending', campaignId = 'a', restaurantId = 'r') => ({
    shard,
    status,
    campaign: { campaignId, restaurantId },
  })
  assert.equal(oneShardToFanOut([c(3, 'fanning'), c(3, 'fanning', 'b')], 0), 3)
  assert.equal(oneShardToFanOut([], 0), undefined, 'nothing to store')
  assert.equal(oneShardToFanOut([c(3, 'fanning')], 1), undefined, 'rejects or cancels go the plain way')
  assert.equal(oneShardToFanOut([c(3, 'fanning'), c(4, 'fanning', 'b')], 0), undefined, 'two shards')
  assert.equal(oneShardToFanOut([c(3, 'fanning'), c(3, 'pending', 'b')], 0), undefined, 'a campaign that waits for its start')
  assert.equal(
    oneShardToFanOut([c(3, 'fanning', 'a', 'r'), c(3, 'fanning', 'a', 's')], 0),
    undefined,
    'one campaign id naming two restaurants',
  )
})
