import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SEND_BYTES, slicesOfBytes } from '../../src/kafka/output-producer.ts'

// Regression: one relay transaction used to go out as one send, i.e. one record batch per
// partition, which the broker refuses above 1 MB (MESSAGE_TOO_LARGE), forever.
test('a transaction is cut into sends well under the broker batch limit, order kept', () => {
  const messages = Array.from({ length: 20000 }, (_, i) => ({ key: `k${i}`, value: 'x'.repeat(450) }))
  const slices = slicesOfBytes(messages, SEND_BYTES)
  assert.ok(slices.length > 10)
  assert.deepEqual(slices.flat(), messages)
  for (const s of slices) assert.ok(s.reduce((n, m) => n + m.value.length, 0) <= SEND_BYTES)
})

test('a message bigger than the limit goes alone; headers count', () => {
  const big = { value: Buffer.alloc(SEND_BYTES + 1) }
  const withHeaders = { value: 'v', headers: new Map([['offerstream.error.reason', 'r'.repeat(SEND_BYTES)]]) }
  const slices = slicesOfBytes([{ value: 'a' }, big, { value: 'b' }, withHeaders, { value: 'c' }], SEND_BYTES)
  assert.equal(slices.length, 5)
  assert.deepEqual(slicesOfBytes([], SEND_BYTES), [])
})
