import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { loadConfig } from '../../src/config/load-config.ts'

test('defaults match the specification', () => {
  const c = loadConfig({ env: {} })
  assert.equal(c.inputTopic, 'restaurant_actions')
  assert.equal(c.outputTopic, 'push_message')
  assert.equal(c.dlqTopic, 'restaurant_actions_dlq')
  assert.equal(c.activeMarginSeconds, 600)
  assert.deepEqual(c.kafkaBrokers, [])
})

test('precedence: default < env < file < flag', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-'))
  const file = join(dir, 'c.json')
  writeFileSync(file, JSON.stringify({ inputTopic: 'from_file', activeMarginSeconds: 60 }))
  const env = { OFFERSTREAM_INPUT_TOPIC: 'from_env', OFFERSTREAM_OUTPUT_TOPIC: 'out_env', OFFERSTREAM_ACTIVE_MARGIN_SECONDS: '30' }
  const c = loadConfig({ env, argv: ['--config', file, '--active-margin-seconds=5'] })
  assert.equal(c.inputTopic, 'from_file')
  assert.equal(c.outputTopic, 'out_env')
  assert.equal(c.activeMarginSeconds, 5)
})

test('bad settings are refused with a message naming the setting', () => {
  const cases: Array<[Record<string, string>, string[], RegExp]> = [
    [{ OFFERSTREAM_ACTIVE_MARGIN_SECONDS: 'ten' }, [], /OFFERSTREAM_ACTIVE_MARGIN_SECONDS \(--active-margin-seconds\).*integer/],
    [{ OFFERSTREAM_FANOUT_CHUNK: '1' }, [], /OFFERSTREAM_FANOUT_CHUNK.*>= 100/],
    [{ KAFKA_BROKERS: 'localhost' }, [], /KAFKA_BROKERS.*host:port/],
    [{ OFFERSTREAM_HTTP_ENABLED: 'maybe' }, [], /OFFERSTREAM_HTTP_ENABLED/],
    [{ OFFERSTREAM_LOG_LEVEL: 'loud' }, [], /OFFERSTREAM_LOG_LEVEL/],
    [{ OFFERSTREAM_KAFKA_TRANSACTIONS: 'v2' }, [], /OFFERSTREAM_KAFKA_TRANSACTIONS/],
    [{ OFFERSTREAM_OUTPUT_TOPIC: 'restaurant_actions' }, [], /OFFERSTREAM_OUTPUT_TOPIC.*differ/],
    [{ DATABASE_URL: 'mysql://x' }, [], /DATABASE_URL/],
    [{ KAFKA_SASL_MECHANISM: 'PLAIN' }, [], /KAFKA_SASL_USERNAME/],
    [{}, ['--no-such-flag', '1'], /unknown flag --no-such-flag/],
    [{}, ['--input-topic'], /--input-topic needs a value/],
  ]
  for (const [env, argv, pattern] of cases) {
    assert.throws(
      () => loadConfig({ env, argv }),
      (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID' && pattern.test(e.message),
      JSON.stringify({ env, argv }),
    )
  }
})

test('a bad secret value is not echoed in the error', () => {
  assert.throws(
    () => loadConfig({ env: { DATABASE_URL: 'mysql://user:hunter2@host/db' } }),
    (e: Error) => /DATABASE_URL/.test(e.message) && !e.message.includes('hunter2'),
  )
})
