import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import type pg from 'pg'
import { PgIngestStore } from '../../src/pg/ingest-store.ts'
import { cancelCampaign } from '../../src/pg/sql/cancel-campaign.ts'
import { fanOutChunk } from '../../src/pg/sql/fan-out-chunk.ts'
import { fanningRoundRobin } from '../../src/pg/sql/fanning-events.ts'
import type { CancelRow, EventRow } from '../../src/pg/sql/insert-events.ts'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'
import { eventually } from '../../testkit/service.ts'

// The hard line at the statement level, in both orders of a cancel (or an update) and a fan-out
// chunk running at the same time on two connections: a cancel waits for the chunk in flight and
// every push it did not wait for is never made; a chunk that meets a cancel not yet committed waits
// for it and then pushes nothing. Plus the version rule and the restaurant check of the ingest statement.
let fx: Fixture
let store: PgIngestStore
before(async () => {
  fx = await createFixture()
  store = new PgIngestStore(fx.pool, 'controls-test', 1)
})
after(async () => fx?.cleanup())

const T = Math.floor(Date.now() / 1000)
const AT = { nowSeconds: T, marginSeconds: 600 }
let offset = 0
const version = (campaignId: string, restaurantId: string, over: Partial<EventRow['campaign']> = {}): EventRow => ({
  topic: 't',
  partition: 0,
  offset: String(offset++),
  campaign: {
    restaurantId,
    campaignId,
    content: 'v1',
    owner: null,
    ownerContact: null,
    created: T - 100,
    start: T - 60,
    end: T + 3600,
    ...over,
  },
  status: 'fanning',
  trigger: T,
  shard: 0,
})
const cancel = (campaignId: string, restaurantId: string): CancelRow => ({
  topic: 't',
  partition: 0,
  offset: String(offset++),
  cancel: { campaignId, restaurantId },
})

async function restaurantWith(n: number) {
  const restaurant = randomUUID()
  await fx.addSubscribers(Array.from({ length: n }, () => [randomUUID(), restaurant] as [string, string]))
  return restaurant
}

/** A writer transaction left open after one chunk: its FOR SHARE lock on the campaign row is held. */
async function openChunk(campaignId: string, size: number) {
  const client = await fx.pool.connect()
  await client.query('begin')
  const round = await fanningRoundRobin(client, 0, 0, 64)
  const event = round.find(e => e.campaignId === campaignId)
  assert.ok(event, 'the campaign is fanning')
  const chunk = await fanOutChunk(client, event, size, AT)
  return { client, chunk, event }
}

const pid = async (c: pg.PoolClient) => (await c.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid
const waitsForLock = (p: number) =>
  eventually(async () => (await fx.pool.query('select 1 from pg_locks where pid = $1 and not granted', [p])).rowCount! > 0, 10000)
const pushedOf = async (campaignId: string) =>
  (await fx.pool.query<{ n: number }>('select count(*)::int as n from subscribers_feedback where adv_campaign_id = $1', [campaignId]))
    .rows[0]!.n

test('a cancel waits for the chunk in flight, then answers with exactly what it pushed; later chunks push nothing', async () => {
  const restaurant = await restaurantWith(30)
  const campaign = randomUUID()
  await store.store([version(campaign, restaurant)], [])
  const { client, chunk } = await openChunk(campaign, 10)
  assert.equal(chunk.inserted, 10)
  const cancelling = cancelCampaign(fx.pool, campaign, restaurant)
  let answered = false
  void cancelling.then(() => {
    answered = true
  })
  // The cancel's backend waits for the chunk's row lock.
  const waiting = await eventually(
    async () =>
      (
        await fx.pool.query(
          `select 1 from pg_stat_activity where wait_event_type = 'Lock' and query like '%insert into offerstream_campaigns%'`,
        )
      ).rowCount! > 0,
    10000,
  )
  assert.ok(waiting, 'the cancel waits for the chunk')
  assert.equal(answered, false)
  await client.query('commit')
  client.release()
  const result = await cancelling
  assert.equal(result.outcome, 'cancelled')
  assert.ok(result.outcome === 'cancelled' && result.pushedBeforeCancel === 10 && result.notPushed === 20, JSON.stringify(result))
  // The next chunk meets the cancel.
  const next = await openChunk(campaign, 10)
  assert.deepEqual(
    { inserted: next.chunk.inserted, live: next.chunk.live, cancelled: next.chunk.campaign.cancelled },
    {
      inserted: 0,
      live: false,
      cancelled: true,
    },
  )
  await next.client.query('commit')
  next.client.release()
  assert.equal(await pushedOf(campaign), 10)
  const again = await cancelCampaign(fx.pool, campaign, restaurant)
  assert.equal(again.outcome, 'already_cancelled')
})

test('a chunk that starts while a cancel is uncommitted waits for it and pushes nothing (READ COMMITTED re-reads the locked row)', async () => {
  const restaurant = await restaurantWith(20)
  const campaign = randomUUID()
  await store.store([version(campaign, restaurant)], [])
  const canceller = await fx.pool.connect()
  await canceller.query('begin')
  await canceller.query(`update offerstream_campaigns set cancelled_at = now() where adv_campaign_id = $1`, [campaign])
  const writer = await fx.pool.connect()
  await writer.query('begin')
  // The round reads the row before the cancel commits; the chunk's own lock must still see it.
  const round = await writer.query<{ id: string }>('select id from offerstream_events where adv_campaign_id = $1', [campaign])
  const event = {
    id: Number(round.rows[0]!.id),
    shard: 0,
    restaurantId: restaurant,
    campaignId: campaign,
    start: T - 60,
    end: T + 3600,
    cancelled: false,
    fanoutAfter: null,
    resent: false,
  }
  const writerPid = await pid(writer)
  const chunking = fanOutChunk(writer, event, 100, AT)
  assert.ok(await waitsForLock(writerPid), 'the chunk waits for the cancel')
  await canceller.query('commit')
  canceller.release()
  const chunk = await chunking
  await writer.query('commit')
  writer.release()
  assert.deepEqual(
    { inserted: chunk.inserted, live: chunk.live, cancelled: chunk.campaign.cancelled },
    { inserted: 0, live: false, cancelled: true },
  )
  assert.equal(await pushedOf(campaign), 0)
})

test('an update waits for the chunk in flight; later chunks push the winning version: highest datetime_created, ties to the later stored', async () => {
  const restaurant = await restaurantWith(12)
  const campaign = randomUUID()
  await store.store([version(campaign, restaurant)], [])
  const first = await openChunk(campaign, 5)
  // The update waits for the chunk in flight (its row lock), so the chunk's pushes keep v1.
  const updating = store.store([version(campaign, restaurant, { content: 'v2', created: T - 50 })], [])
  await first.client.query('commit')
  first.client.release()
  await updating
  // An older version arriving late does not win; a tie goes to the later stored.
  await store.store([version(campaign, restaurant, { content: 'old', created: T - 90 })], [])
  await store.store([version(campaign, restaurant, { content: 'v3', created: T - 50 })], [])
  const second = await openChunk(campaign, 100)
  await second.client.query('commit')
  second.client.release()
  const { rows } = await fx.pool.query<{ content: string; n: number }>(
    `select adv_campaign_content as content, count(distinct client_id)::int as n from subscribers_feedback
     where adv_campaign_id = $1 group by 1 order by 1`,
    [campaign],
  )
  // The second chunk ran for the first event (resumed after 5) and for the three re-sends, which skip reached clients.
  assert.deepEqual(rows, [
    { content: 'v1', n: 5 },
    { content: 'v3', n: 7 },
  ])
  const row = await fx.pool.query('select adv_campaign_content, versions from offerstream_campaigns where adv_campaign_id = $1', [campaign])
  assert.deepEqual(row.rows[0], { adv_campaign_content: 'v3', versions: 4 })
})

test('a cancel or a version naming another restaurant changes nothing and comes back as a mismatch; a cancel first fixes the restaurant', async () => {
  const restaurant = await restaurantWith(3)
  const campaign = randomUUID()
  await store.store([version(campaign, restaurant)], [])
  const other = randomUUID()
  const r = await store.store([version(campaign, other, { content: 'hijack', created: T })], [], [cancel(campaign, other)])
  assert.deepEqual(
    r.mismatched.map(m => m.code),
    ['restaurant_mismatch', 'restaurant_mismatch'],
  )
  const rejects = await fx.pool.query('select code, reason from offerstream_rejects where code = $1 and reason like $2', [
    'restaurant_mismatch',
    `%${campaign}%`,
  ])
  assert.equal(rejects.rowCount, 2, 'both in the DLQ table with a reason')
  const row = await fx.pool.query('select adv_campaign_content, cancelled_at from offerstream_campaigns where adv_campaign_id = $1', [
    campaign,
  ])
  assert.deepEqual(row.rows[0], { adv_campaign_content: 'v1', cancelled_at: null })
  // A cancel of an id never seen is kept and fixes the campaign's restaurant: the campaign, when it
  // comes, is stored (never to fan out); one naming another restaurant is refused.
  const unseen = randomUUID()
  const kept = await store.store([], [], [cancel(unseen, restaurant)])
  assert.equal(kept.cancels, 1)
  const later = await store.store([version(unseen, restaurant), version(unseen, other)], [])
  assert.equal(later.rows.length, 1)
  assert.equal(later.mismatched.length, 1)
  const c = await fx.pool.query(
    'select cancelled_at is not null as cancelled, versions from offerstream_campaigns where adv_campaign_id = $1',
    [unseen],
  )
  assert.deepEqual(c.rows[0], { cancelled: true, versions: 1 })
})
