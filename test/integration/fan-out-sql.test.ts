import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import { fanOutChunk } from '../../src/pg/sql/fan-out-chunk.ts'
import { fanningRoundRobin } from '../../src/pg/sql/fanning-events.ts'
import { insertEvents } from '../../src/pg/sql/insert-events.ts'
import { withTransaction } from '../../src/pg/transaction.ts'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'

// The fan-out statement on its own: chunks resume where the last one stopped, the event's progress
// moves in the same statement, and a campaign whose two events fan out in one transaction reaches
// each client once (the second event's anti-join sees the first's rows, committed or not).
let fx: Fixture
before(async () => {
  fx = await createFixture()
})
after(async () => fx?.cleanup())

const T = Math.floor(Date.now() / 1000)
const AT = { nowSeconds: T, marginSeconds: 0 }
let offset = 0
const event = (campaignId: string, restaurantId: string) => ({
  topic: 't',
  partition: 0,
  offset: String(offset++),
  campaign: { restaurantId, campaignId, content: 'x', owner: null, ownerContact: null, created: T, start: T - 60, end: T + 3600 },
  status: 'fanning' as const,
  trigger: T,
  shard: 0,
})

test('two events of one campaign fanned out in one transaction, in chunks of 2: each client once, both events done', async () => {
  const restaurant = randomUUID()
  const campaign = randomUUID()
  const clients = Array.from({ length: 5 }, () => randomUUID())
  await fx.addSubscribers(clients.map(c => [c, restaurant]))
  const chunks: Array<{ event: number; inserted: number; resent: boolean }> = []
  await withTransaction(fx.pool, async client => {
    await insertEvents(client, [event(campaign, restaurant), event(campaign, restaurant)])
    for (;;) {
      const round = await fanningRoundRobin(client, 0, 0, 64)
      if (round.length === 0) break
      for (const e of round) {
        const r = await fanOutChunk(client, e, 2, AT)
        chunks.push({ event: e.id, inserted: r.inserted, resent: e.resent })
      }
    }
  })
  const rows = await fx.pool.query('select client_id from subscribers_feedback where adv_campaign_id = $1', [campaign])
  assert.equal(rows.rowCount, 5, 'five clients, five rows')
  assert.deepEqual(new Set(rows.rows.map(r => r.client_id)), new Set(clients))
  assert.ok(
    chunks.every(c => c.resent),
    'each event knows the campaign has another',
  )
  const events = await fx.pool.query('select status, pushed, fanout_after from offerstream_events where adv_campaign_id = $1 order by id', [
    campaign,
  ])
  assert.deepEqual(
    events.rows.map(r => r.status),
    ['done', 'done'],
  )
  assert.equal(
    events.rows.reduce((n, r) => n + r.pushed, 0),
    5,
    'pushed counts add up to the rows',
  )
  const sorted = [...clients].sort()
  assert.equal(events.rows[0].fanout_after, sorted[4], 'the first event resumed to the last client')
})

test('a campaign with one event is not treated as re-sent, and a chunk smaller than the budget finishes it', async () => {
  const restaurant = randomUUID()
  const campaign = randomUUID()
  await fx.addSubscribers([randomUUID(), randomUUID(), randomUUID()].map(c => [c, restaurant]))
  const result = await withTransaction(fx.pool, async client => {
    await insertEvents(client, [event(campaign, restaurant)])
    const [e] = await fanningRoundRobin(client, 0, 0, 64)
    assert.ok(e)
    return { resent: e.resent, chunk: await fanOutChunk(client, e, 10, AT) }
  })
  assert.equal(result.resent, false)
  assert.deepEqual(result.chunk, {
    inserted: 3,
    suppressed: 0,
    candidates: 3,
    finished: true,
    live: true,
    campaign: { start: T - 60, end: T + 3600, cancelled: false },
  })
  const { rows } = await fx.pool.query('select status, pushed from offerstream_events where adv_campaign_id = $1', [campaign])
  assert.deepEqual(rows, [{ status: 'done', pushed: 3 }])
})
