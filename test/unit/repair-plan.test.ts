import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { CursorEntry } from '../../src/kafka/published-evidence.ts'
import type { CursorEvent } from '../../src/kafka/relay-cursor.ts'
import { planFromHistory } from '../../src/service/regression-repair.ts'

const ev = (campaignId: string): CursorEvent => ({
  campaignId,
  trigger: 100,
  topic: 'in',
  partition: 0,
  offset: campaignId.length.toString(),
})
const entry = (push: number, dlq: number, timestampMs: number, events: CursorEvent[] = []): CursorEntry => ({
  push,
  dlq,
  timestampMs,
  offset: BigInt(timestampMs),
  events,
})
const plan = (position: { push: number; dlq: number }) => ({
  shard: 3,
  cursor: { push: 90, dlq: 5 },
  position,
  sinceMs: -1,
  events: new Map<string, CursorEvent>(),
  eventsComplete: false,
})

test('reads from the last cursor record PostgreSQL covers, with the events of the transactions after it', () => {
  const p = plan({ push: 40, dlq: 5 })
  planFromHistory(p, [
    entry(20, 0, 50_000, [ev('a')]),
    entry(40, 5, 60_000, [ev('b')]),
    entry(70, 5, 61_000, [ev('c')]),
    entry(90, 5, 62_000, [ev('d')]),
  ])
  assert.equal(p.sinceMs, 50_000) // 60 s less the 10 s clock margin
  assert.deepEqual(
    [...p.events.values()].map(e => e.campaignId),
    ['c', 'd'],
  )
  assert.equal(p.eventsComplete, true)
})

test('a transaction that took the shard from below PostgreSQL to past it is its own boundary', () => {
  const p = plan({ push: 0, dlq: 2 })
  planFromHistory(p, [entry(0, 5, 30_000), entry(90, 5, 31_000, [ev('x')])])
  assert.equal(p.sinceMs, 20_000)
  assert.equal(p.events.size, 1)
})

test('a lost transaction that pushed without naming its events (an older cursor) makes the lookup cover every push', () => {
  const p = plan({ push: 40, dlq: 5 })
  planFromHistory(p, [entry(40, 5, 60_000), entry(90, 5, 61_000)])
  assert.equal(p.eventsComplete, false)
})

test('no cursor record past PostgreSQL: repair is impossible, and the message says what resolves it', () => {
  assert.throws(
    () => planFromHistory(plan({ push: 40, dlq: 5 }), [entry(40, 5, 60_000)]),
    /shard 3: .* no cursor record past PostgreSQL's position.*OFFERSTREAM_PG_REGRESSION=accept/s,
  )
})
