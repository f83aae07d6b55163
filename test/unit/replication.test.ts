import assert from 'node:assert/strict'
import { test } from 'node:test'
import { loadConfig } from '../../src/config/load-config.ts'
import { replication } from '../../src/kafka/ensure-topics.ts'

test('auto replication follows the cluster size up to 3; 3 or more replicas require 2 in sync', () => {
  assert.deepEqual(replication('auto', 1), { replicas: 1 })
  assert.deepEqual(replication('auto', 2), { replicas: 2 })
  assert.deepEqual(replication('auto', 3), { replicas: 3, minInsync: 2 })
  assert.deepEqual(replication('auto', 7), { replicas: 3, minInsync: 2 })
  assert.deepEqual(replication('5', 7), { replicas: 5, minInsync: 2 })
  assert.deepEqual(replication('1', 3), { replicas: 1 })
})

test('OFFERSTREAM_TOPIC_REPLICAS accepts auto or 1..10 and names itself otherwise', () => {
  assert.equal(loadConfig({ env: {} }).topicReplicas, 'auto')
  assert.equal(loadConfig({ env: { OFFERSTREAM_TOPIC_REPLICAS: '3' } }).topicReplicas, '3')
  for (const bad of ['0', '11', 'three', '']) {
    assert.throws(() => loadConfig({ env: { OFFERSTREAM_TOPIC_REPLICAS: bad } }), /OFFERSTREAM_TOPIC_REPLICAS \(--topic-replicas\)/)
  }
})
