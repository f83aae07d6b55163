import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decodeCursor, decodeCursorRecord, encodeCursor } from '../../src/kafka/relay-cursor.ts'

const event = {
  campaignId: '6f0c5b1e-8a3e-4f0e-9a59-1d3f1f3c2a10',
  trigger: 1796589000,
  topic: 'restaurant_actions',
  partition: 2,
  offset: '9007199254740993',
}

test('a cursor record names the events its pushes belong to, and reads back exactly', () => {
  const bytes = Buffer.from(encodeCursor({ push: 41, dlq: 7 }, [event]))
  assert.deepEqual(decodeCursorRecord(bytes), { push: 41, dlq: 7, events: [event] })
  assert.deepEqual(decodeCursor(bytes), { push: 41, dlq: 7 })
})

test('cursors written before events were recorded still read, with no events', () => {
  const old = Buffer.from('{"push":41,"dlq":7}')
  assert.deepEqual(decodeCursorRecord(old), { push: 41, dlq: 7, events: [] })
  assert.equal(encodeCursor({ push: 41, dlq: 7 }), '{"push":41,"dlq":7}')
})

test('a malformed record is no cursor; malformed event entries are skipped', () => {
  assert.equal(decodeCursorRecord(Buffer.from('{"push":"x","dlq":1}')), null)
  assert.equal(decodeCursorRecord(Buffer.from('not json')), null)
  assert.deepEqual(decodeCursorRecord(Buffer.from('{"push":1,"dlq":2,"ev":[[1,2],"x"]}')), { push: 1, dlq: 2, events: [] })
})
