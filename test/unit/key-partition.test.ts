import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { murmur2 as clientMurmur2 } from '@platformatic/kafka'
import { keyPartition, murmur2 } from '../../src/kafka/key-partition.ts'

const bytes = (s: string) => new TextEncoder().encode(s)

test('murmur2 gives the values of Kafka UtilsTest.testMurmur2', () => {
  // Expected values from Apache Kafka's clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java.
  const cases: Array<[string, number]> = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ]
  for (const [key, expected] of cases) assert.equal(murmur2(bytes(key)), expected, key)
})

test('murmur2 agrees with the Kafka client library on every tail length, UTF-8 and binary keys', () => {
  const keys: Uint8Array[] = [new Uint8Array(0)]
  for (let n = 1; n <= 40; n++) keys.push(randomBytes(n))
  for (const s of ['é', 'клиент-42', '🍕 promo', randomUUID()]) keys.push(bytes(s))
  for (const key of keys) assert.equal(murmur2(key), clientMurmur2(Buffer.from(key)), Buffer.from(key).toString('hex'))
})

test('keyPartition masks like the Java producer (toPositive), not with >>> 0', () => {
  // murmur2('foobar') is negative: Java takes its low 31 bits.
  assert.equal(keyPartition('foobar', 1000), (-790332482 & 0x7fffffff) % 1000)
  assert.notEqual(keyPartition('foobar', 3), (-790332482 >>> 0) % 3)
  for (let i = 0; i < 200; i++) {
    const key = randomUUID()
    const p = keyPartition(key, 12)
    assert.ok(p >= 0 && p < 12)
    assert.equal(p, (murmur2(bytes(key)) & 0x7fffffff) % 12)
    assert.equal(keyPartition(Buffer.from(key), 12), p)
  }
  // Longer than the scratch buffer: encoded separately, same hash.
  const long = 'x'.repeat(300)
  assert.equal(keyPartition(long, 7), (murmur2(bytes(long)) & 0x7fffffff) % 7)
})
