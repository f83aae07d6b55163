import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import { fanOutChunk } from '../../src/pg/sql/fan-out-chunk.ts'
import { fanOutFirstChunks } from '../../src/pg/sql/fan-out-first-chunks.ts'
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

test('first chunks of many campaigns in one statement: as if each ran through fanOutChunk in turn, one id range each', async () => {
  // Two shards get the same campaigns' shapes: one runs the batch statement, the other the
  // per-campaign one; results, events' progress and rows per campaign must match.
  const shapes = [
    { clients: 3, start: T - 60 },
    { clients: 0, start: T - 60 }, // no subscribers: done at once
    { clients: 6, start: T - 60 }, // more than the chunk: a partial first chunk
    { clients: 2, start: T + 600 }, // window not open: nothing written, not live
    { clients: 1, start: T - 60, cancel: true },
    { clients: 4, start: T - 60 },
  ]
  const size = 5
  const run = async (shard: number, batch: boolean) => {
    const campaigns = shapes.map(() => randomUUID())
    const restaurants = shapes.map(() => randomUUID())
    await fx.addSubscribers(
      shapes.flatMap((s, i) => Array.from({ length: s.clients }, () => [randomUUID(), restaurants[i]!] as [string, string])),
    )
    const results = await withTransaction(fx.pool, async client => {
      await insertEvents(
        client,
        shapes.map((s, i) => {
          const e = event(campaigns[i]!, restaurants[i]!)
          return { ...e, shard, campaign: { ...e.campaign, start: s.start } }
        }),
      )
      const cancelled = campaigns.filter((_, i) => shapes[i]!.cancel)
      await client.query('update offerstream_campaigns set cancelled_at = now() where adv_campaign_id = any($1::uuid[])', [cancelled])
      const round = await fanningRoundRobin(client, shard, 0, 64)
      assert.equal(round.length, shapes.length)
      if (batch) return fanOutFirstChunks(client, round, size, AT)
      const each = []
      for (const e of round) each.push(await fanOutChunk(client, e, size, AT))
      return each
    })
    const events = await fx.pool.query(
      `select e.status, e.pushed::int, e.fanout_after is not null as resumed,
         (select count(*)::int from subscribers_feedback f where f.adv_campaign_id = e.adv_campaign_id) as rows,
         (select count(*)::int from offerstream_fanouts x where x.event_id = e.id) as ranges,
         (select count(*)::int from subscribers_feedback f join offerstream_fanouts x on f.id between x.first_id and x.last_id
            where x.event_id = e.id and f.adv_campaign_id <> e.adv_campaign_id) as foreign_rows
       from offerstream_events e where e.adv_campaign_id = any($1::uuid[]) order by e.id`,
      [campaigns],
    )
    return { results, events: events.rows }
  }
  const one = await run(7, true)
  const each = await run(8, false)
  assert.deepEqual(one.results, each.results, 'the same results as one statement per campaign')
  assert.deepEqual(one.events, each.events, 'the same progress, rows and ranges')
  assert.deepEqual(
    one.events.map(e => [e.status, e.pushed, e.rows, e.ranges, e.foreign_rows]),
    [
      ['done', 3, 3, 1, 0],
      ['done', 0, 0, 0, 0],
      ['fanning', 5, 5, 1, 0],
      ['fanning', 0, 0, 0, 0],
      ['fanning', 0, 0, 0, 0],
      ['done', 4, 4, 1, 0],
    ],
  )
  assert.deepEqual(
    one.results.map(r => [r.inserted, r.candidates, r.finished, r.live]),
    [
      [3, 3, true, true],
      [0, 0, true, true],
      [5, 5, false, true],
      [0, 0, false, false],
      [0, 0, false, false],
      [4, 4, true, true],
    ],
  )
})

test('first chunks in one statement refuse a campaign that is resumed or re-sent (those need the anti-join)', async () => {
  const e = {
    id: 1,
    shard: 0,
    restaurantId: randomUUID(),
    campaignId: randomUUID(),
    start: T,
    end: T + 60,
    cancelled: false,
    resent: true,
    fanoutAfter: null,
  }
  await assert.rejects(fanOutFirstChunks(fx.pool, [e], 5, AT), /not a first chunk of a campaign sent once/)
  await assert.rejects(fanOutFirstChunks(fx.pool, [{ ...e, resent: false, fanoutAfter: randomUUID() }], 5, AT), /not a first chunk/)
})
