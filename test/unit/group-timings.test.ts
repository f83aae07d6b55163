import assert from 'node:assert/strict'
import { test } from 'node:test'
import { loadConfig } from '../../src/config/load-config.ts'
import { groupTimings } from '../../src/kafka/client-options.ts'

test('the session timeout is a setting: 10 s by default, validated, and the group timings follow it', () => {
  assert.deepEqual(groupTimings(loadConfig({ env: {} })), { sessionTimeout: 10000, heartbeatInterval: 1000, rebalanceTimeout: 20000 })
  // What the tests use: the broker's default minimum.
  assert.deepEqual(groupTimings(loadConfig({ env: { OFFERSTREAM_KAFKA_SESSION_TIMEOUT_MS: '6000' } })), {
    sessionTimeout: 6000,
    heartbeatInterval: 1000,
    rebalanceTimeout: 20000,
  })
  // Short sessions heartbeat three times per session; long ones keep the rebalance timeout >= the session.
  assert.deepEqual(groupTimings({ kafkaSessionTimeoutMs: 1500 }), { sessionTimeout: 1500, heartbeatInterval: 500, rebalanceTimeout: 20000 })
  assert.deepEqual(groupTimings({ kafkaSessionTimeoutMs: 45000 }), {
    sessionTimeout: 45000,
    heartbeatInterval: 1000,
    rebalanceTimeout: 45000,
  })
  assert.throws(
    () => loadConfig({ argv: ['--kafka-session-timeout-ms', '500'] }),
    /OFFERSTREAM_KAFKA_SESSION_TIMEOUT_MS \(--kafka-session-timeout-ms\): must be >= 1000/,
  )
})
