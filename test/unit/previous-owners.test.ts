import assert from 'node:assert/strict'
import { test } from 'node:test'
import { INSTANCE_PRODUCERS, instanceOwner, instanceTransactionalIds, previousOwnerIds } from '../../src/kafka/instance-producer.ts'
import { PreviousOwners } from '../../src/service/previous-owners.ts'

const config = { transactionalId: 'relay' }

test("a previous owner's ids: its instance's producers when it recorded a set, else the shard's own relay id, none for a new shard", () => {
  const owner = instanceOwner('host:7')
  assert.deepEqual(previousOwnerIds(config, owner, 'relay-3'), instanceTransactionalIds(config, owner))
  assert.equal(instanceTransactionalIds(config, owner).length, INSTANCE_PRODUCERS)
  assert.deepEqual(previousOwnerIds(config, 'host:7/p2', 'relay-3'), ['relay-host:7/p2-0', 'relay-host:7/p2-1'])
  assert.deepEqual(previousOwnerIds(config, 'host:7', 'relay-3'), ['relay-3'], 'an owner that ran a producer per shard')
  assert.deepEqual(previousOwnerIds(config, null, 'relay-3'), [])
})

test('shards taken from one owner share a fence begun after the last was taken; an earlier fence is not reused', async () => {
  const calls: string[][] = []
  const releases: Array<() => void> = []
  const owners = new PreviousOwners(async ids => {
    calls.push(ids)
    await new Promise<void>(r => releases.push(r))
  })
  const a = owners.taken()
  const b = owners.taken()
  const first = owners.fence('A', ['a0'], a)
  const second = owners.fence('A', ['a0'], b)
  const c = owners.taken() // taken while the fence is in flight: it needs one of its own
  const third = owners.fence('A', ['a0'], c)
  assert.equal(calls.length, 2, 'a and b share the first fence; c, taken after it began, gets another')
  for (const r of releases) r()
  await Promise.all([first, second, third])
  await owners.fence('A', ['a0'], c)
  assert.equal(calls.length, 2, 'the fence begun after c was taken counts for it')
  await owners.fence('A', [], owners.taken())
  assert.equal(calls.length, 2, 'nothing to fence')
})

test('a failed fence is begun again by the next shard that needs it', async () => {
  let fail = true
  let calls = 0
  const owners = new PreviousOwners(async () => {
    calls++
    if (fail) throw new Error('broker down')
  })
  const t = owners.taken()
  await assert.rejects(owners.fence('A', ['a0'], t), /broker down/)
  fail = false
  await owners.fence('A', ['a0'], t)
  assert.equal(calls, 2)
})
