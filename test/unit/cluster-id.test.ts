import assert from 'node:assert/strict'
import { test } from 'node:test'
import { newClusterId } from '../../tools/stack/kafka-storage.ts'

test('a new Kafka cluster id is 22 base64url characters and never starts with a dash', () => {
  // One id in 64 would start with '-'; 5,000 draws see ~78 of those redrawn.
  for (let i = 0; i < 5000; i++) {
    const id = newClusterId()
    assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/)
  }
})
