import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import pg from 'pg'
import { shardOf } from '../../src/core/shard.ts'
import type { Service } from '../../src/service/app.ts'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'
import { eventually, runService } from '../../testkit/service.ts'

// Cancel and update through both doors (Kafka, HTTP) against the running service, in each order:
// cancel before the campaign, cancel of an id never seen, cancel and update in the middle of a
// fan-out, a cancel naming another restaurant, a re-send after a cancel, an end moved earlier and a
// start moved later. "In the middle" is made exact, not raced: the test holds the shard's lock, so
// the writer waits before its next transaction, and lets it through one transaction at a time.
let fx: Fixture
let service: Service
let base: string
const TOKEN = 'controls-test-token'
const SHARD_LOCK = 7_304_002 // src/pg/shard-lock.ts
const CHUNK = 200
const AUDIENCE = 2000

before(async () => {
  fx = await createFixture({
    OFFERSTREAM_HTTP_ENABLED: 'true',
    OFFERSTREAM_HTTP_PORT: '0',
    OFFERSTREAM_API_TOKEN: TOKEN,
    OFFERSTREAM_FANOUT_CHUNK: String(CHUNK),
    OFFERSTREAM_SCHEDULER_MAX_SLEEP_MS: '1000',
  })
  service = await runService(fx.config)
  base = `http://127.0.0.1:${service.httpPort}`
})
after(async () => {
  await service?.stop()
  await fx?.cleanup()
})

const now = () => Math.floor(Date.now() / 1000)
function record(restaurant: string, id: string, extra: Record<string, unknown> = {}) {
  const t = now()
  return JSON.stringify({
    restaurant_id: restaurant,
    adv_campaign_id: id,
    adv_campaign_content: `c ${id}`,
    adv_campaign_datetime_start: t - 60,
    adv_campaign_datetime_end: t + 3600,
    datetime_created: t - 60,
    ...extra,
  })
}
const cancelRecord = (restaurant: string, id: string) =>
  JSON.stringify({ restaurant_id: restaurant, adv_campaign_id: id, adv_campaign_status: 'cancelled' })
const cancelHttp = (id: string, restaurant: string) =>
  fetch(`${base}/v1/campaigns/${id}/cancel`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ restaurant_id: restaurant }),
  })

/** offerstream_campaign_cancels_total{source, outcome} as /metrics shows it now. */
async function cancelsCounted(source: 'kafka' | 'http', outcome: 'applied' | 'restaurant_mismatch'): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text()
  const line = text
    .split('\n')
    .find(
      l => l.startsWith('offerstream_campaign_cancels_total{') && l.includes(`source="${source}"`) && l.includes(`outcome="${outcome}"`),
    )
  assert.ok(line, `/metrics has offerstream_campaign_cancels_total{source="${source}",outcome="${outcome}"}`)
  return Number(line.split(' ').at(-1))
}
const getStats = async (id: string) => fetch(`${base}/v1/campaigns/${id}/stats`, { headers: { authorization: `Bearer ${TOKEN}` } })

async function restaurantWith(n: number) {
  const restaurant = randomUUID()
  const clients = Array.from({ length: n }, () => randomUUID())
  await fx.addSubscribers(clients.map(c => [c, restaurant]))
  return { restaurant, clients }
}
const q = async <T extends pg.QueryResultRow>(sql: string, values: unknown[]) => (await fx.pool.query<T>(sql, values)).rows
const pushedOf = async (id: string) =>
  (await q<{ n: number }>('select count(*)::int as n from subscribers_feedback where adv_campaign_id = $1', [id]))[0]!.n
const distinctOf = async (id: string) =>
  (await q<{ n: number }>('select count(distinct client_id)::int as n from subscribers_feedback where adv_campaign_id = $1', [id]))[0]!.n
const statusOf = async (id: string) =>
  (await q<{ status: string }>('select status from offerstream_events where adv_campaign_id = $1 order by id', [id])).map(r => r.status)
const campaignRow = async (id: string) =>
  (
    await q<{ cancelled: boolean; content: string | null }>(
      'select cancelled_at is not null as cancelled, adv_campaign_content as content from offerstream_campaigns where adv_campaign_id = $1',
      [id],
    )
  )[0]

/** Holds the campaign's shard lock: the writer waits before its next transaction. step() lets exactly one through. */
async function holdShard(campaignId: string) {
  const shard = shardOf(campaignId, fx.config.shards)
  const c = new pg.Client({ connectionString: fx.config.databaseUrl })
  await c.connect()
  await c.query('select pg_advisory_lock($1, $2)', [SHARD_LOCK, shard])
  return {
    // Lock waits are served in order: the writer, already waiting, gets the lock before our new request.
    async step() {
      await c.query('select pg_advisory_unlock($1, $2)', [SHARD_LOCK, shard])
      await c.query('select pg_advisory_lock($1, $2)', [SHARD_LOCK, shard])
    },
    async release() {
      await c.query('select pg_advisory_unlock($1, $2)', [SHARD_LOCK, shard])
      await c.end()
    },
  }
}

/** Starts the campaign's fan-out and stops it after its first committed transaction(s), the shard held. */
async function midFanOut(restaurant: string, id: string, extra: Record<string, unknown> = {}) {
  const held = await holdShard(id)
  await fx.produce([record(restaurant, id, extra)])
  assert.ok(await eventually(async () => (await statusOf(id)).length === 1), 'the campaign stored')
  for (let i = 0; i < 50 && (await pushedOf(id)) === 0; i++) await held.step()
  const pushed = await pushedOf(id)
  assert.ok(pushed > 0 && pushed < AUDIENCE, `mid fan-out: ${pushed} of ${AUDIENCE}`)
  return held
}

/** Push messages of the campaign on the output topic, once the relay caught up with the table. */
async function publishedOf(id: string): Promise<string[]> {
  const total = (await q<{ n: number }>('select count(*)::int as n from subscribers_feedback', []))[0]!.n
  const records = await fx.readTopic(fx.config.outputTopic, { atLeast: total, timeoutMs: 120000 })
  return records.map(r => r.value?.toString() ?? '').filter(v => v.includes(id))
}

test('Kafka cancel mid-fan-out: nothing pushed after it commits, what was pushed before is published', async () => {
  const { restaurant } = await restaurantWith(AUDIENCE)
  const id = randomUUID()
  const held = await midFanOut(restaurant, id)
  await fx.produce([cancelRecord(restaurant, id)])
  assert.ok(await eventually(async () => (await campaignRow(id))?.cancelled === true), 'the cancel committed')
  const atCancel = await pushedOf(id)
  await held.release()
  assert.ok(await eventually(async () => (await statusOf(id))[0] === 'cancelled'), 'the writer ends the event as cancelled')
  assert.equal(await pushedOf(id), atCancel, 'no push committed after the cancel')
  assert.ok(atCancel < AUDIENCE)
  assert.equal((await publishedOf(id)).length, atCancel, 'both sinks hold the same pairs')
  const stats = (await (
    await fetch(`${base}/v1/campaigns/${id}/stats`, { headers: { authorization: `Bearer ${TOKEN}` } })
  ).json()) as Record<string, unknown>
  assert.equal(stats.status, 'cancelled')
  assert.equal(stats.pushed, atCancel)
  assert.equal(typeof stats.cancelledAt, 'string')
})

test('HTTP cancel mid-fan-out answers with exactly what was pushed before it and what will not be', async () => {
  const { restaurant } = await restaurantWith(AUDIENCE)
  const id = randomUUID()
  const held = await midFanOut(restaurant, id)
  // Let the writer in while the request runs: the cancel then meets a transaction in flight or follows one.
  const answer = cancelHttp(id, restaurant)
  await held.step()
  await held.release()
  const res = await answer
  assert.equal(res.status, 200)
  const body = (await res.json()) as { outcome: string; pushedBeforeCancel: number; notPushed: number; seen: boolean }
  assert.equal(body.outcome, 'cancelled')
  assert.equal(body.seen, true)
  assert.ok(await eventually(async () => (await statusOf(id))[0] === 'cancelled'))
  assert.equal(await pushedOf(id), body.pushedBeforeCancel, 'the answer counts every push, and none came after')
  assert.equal(body.notPushed, AUDIENCE - body.pushedBeforeCancel)
  assert.equal((await publishedOf(id)).length, body.pushedBeforeCancel)
  const again = (await (await cancelHttp(id, restaurant)).json()) as { outcome: string; pushedBeforeCancel: number }
  assert.deepEqual([again.outcome, again.pushedBeforeCancel], ['already_cancelled', body.pushedBeforeCancel])
})

test('a cancel before its campaign (Kafka), and re-sending the campaign after it: never fans out', async () => {
  const { restaurant } = await restaurantWith(50)
  const id = randomUUID()
  const applied = await cancelsCounted('kafka', 'applied')
  await fx.produce([cancelRecord(restaurant, id)])
  assert.ok(await eventually(async () => (await campaignRow(id))?.cancelled === true), 'the cancel of an unseen id is kept')
  assert.ok(await eventually(async () => (await cancelsCounted('kafka', 'applied')) === applied + 1), 'counted in /metrics')
  // Known, and cancelled, before any record of it arrives.
  const early = await getStats(id)
  assert.equal(early.status, 200)
  const known = (await early.json()) as Record<string, unknown>
  assert.deepEqual([known.status, known.pushed, known.versions, known.content, known.restaurantId], ['cancelled', 0, 0, null, restaurant])
  await fx.produce([record(restaurant, id)])
  assert.ok(await eventually(async () => (await statusOf(id))[0] === 'cancelled'))
  await fx.produce([record(restaurant, id, { datetime_created: now() })])
  assert.ok(await eventually(async () => (await statusOf(id)).join() === 'cancelled,cancelled'), 're-sent, still cancelled')
  assert.equal(await pushedOf(id), 0)
  const later = (await (await getStats(id)).json()) as Record<string, unknown>
  assert.deepEqual([later.status, later.pushed, later.versions, later.content], ['cancelled', 0, 2, `c ${id}`], 'then its version')
})

test('HTTP cancel of an id never seen is kept: the campaign arriving later never fans out', async () => {
  const { restaurant } = await restaurantWith(50)
  const id = randomUUID()
  const [applied, mismatched] = [await cancelsCounted('http', 'applied'), await cancelsCounted('http', 'restaurant_mismatch')]
  const res = await cancelHttp(id, restaurant)
  assert.equal(res.status, 200)
  assert.equal(await cancelsCounted('http', 'applied'), applied + 1, 'counted in /metrics')
  assert.deepEqual(
    (({ outcome, seen, pushedBeforeCancel, notPushed }) => ({ outcome, seen, pushedBeforeCancel, notPushed }))(
      (await res.json()) as Record<string, unknown>,
    ),
    { outcome: 'cancelled', seen: false, pushedBeforeCancel: 0, notPushed: 50 },
  )
  await fx.produce([record(restaurant, id)])
  assert.ok(await eventually(async () => (await statusOf(id))[0] === 'cancelled'))
  assert.equal(await pushedOf(id), 0)
  // Wrong restaurant, bad body, no token.
  assert.equal((await cancelHttp(id, randomUUID())).status, 409)
  assert.equal(await cancelsCounted('http', 'restaurant_mismatch'), mismatched + 1)
  const bad = await fetch(`${base}/v1/campaigns/${id}/cancel`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: '{}',
  })
  assert.equal(bad.status, 400)
  assert.match(((await bad.json()) as { message: string }).message, /restaurant_id/)
  assert.equal((await fetch(`${base}/v1/campaigns/${id}/cancel`, { method: 'POST', body: '{}' })).status, 401)
  const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, unknown> }
  assert.ok(doc.paths['/v1/campaigns/{id}/cancel'], 'documented in /openapi.json')
})

test('a cancel or an update naming another restaurant goes to the DLQ with a reason and does not touch the campaign; so does a bad status', async () => {
  const { restaurant } = await restaurantWith(40)
  const id = randomUUID()
  await fx.produce([record(restaurant, id)])
  assert.ok(await eventually(async () => (await pushedOf(id)) === 40))
  const other = randomUUID()
  const mismatched = await cancelsCounted('kafka', 'restaurant_mismatch')
  await fx.produce([
    cancelRecord(other, id),
    record(other, id, { adv_campaign_content: 'hijack', datetime_created: now() }),
    record(restaurant, randomUUID(), { adv_campaign_status: 'paused' }),
  ])
  const dlq = await fx.readTopic(fx.config.dlqTopic, { atLeast: 3, timeoutMs: 60000 })
  const codes = dlq.map(r => [r.headers.get('offerstream.error.code'), r.headers.get('offerstream.error.reason') ?? ''] as const)
  assert.equal(codes.filter(([c, reason]) => c === 'restaurant_mismatch' && reason.includes(id)).length, 2, JSON.stringify(codes))
  assert.ok(
    codes.some(([c, reason]) => c === 'schema' && reason.includes('adv_campaign_status')),
    'the bad status names the field',
  )
  assert.deepEqual(await campaignRow(id), { cancelled: false, content: `c ${id}` })
  assert.ok(await eventually(async () => (await cancelsCounted('kafka', 'restaurant_mismatch')) === mismatched + 1), 'counted in /metrics')
  assert.equal(await pushedOf(id), 40)
})

test('update mid-fan-out: later pushes carry the new version, every client once; stats show it', async () => {
  const { restaurant } = await restaurantWith(AUDIENCE)
  const id = randomUUID()
  const held = await midFanOut(restaurant, id)
  await fx.produce([record(restaurant, id, { adv_campaign_content: 'v2: half price', datetime_created: now() })])
  assert.ok(await eventually(async () => (await campaignRow(id))?.content === 'v2: half price'), 'the update committed')
  await held.release()
  assert.ok(await eventually(async () => (await statusOf(id)).every(s => s === 'done') && (await distinctOf(id)) === AUDIENCE))
  assert.equal(await pushedOf(id), AUDIENCE, 'no client twice')
  const [order] = await q<{ v1_last: number; v2_first: number; v2: number }>(
    `select max(id) filter (where adv_campaign_content <> 'v2: half price')::int as v1_last,
            min(id) filter (where adv_campaign_content = 'v2: half price')::int as v2_first,
            count(*) filter (where adv_campaign_content = 'v2: half price')::int as v2
     from subscribers_feedback where adv_campaign_id = $1`,
    [id],
  )
  assert.ok(order && order.v2 > 0 && order.v1_last < order.v2_first, `every push after the update carries it: ${JSON.stringify(order)}`)
  const published = await publishedOf(id)
  assert.equal(published.length, AUDIENCE)
  assert.equal(published.filter(v => v.includes('v2: half price')).length, order.v2, 'the topic carries the same versions')
  const stats = (await (
    await fetch(`${base}/v1/campaigns/${id}/stats`, { headers: { authorization: `Bearer ${TOKEN}` } })
  ).json()) as Record<string, unknown>
  assert.equal(stats.content, 'v2: half price')
  assert.equal(stats.versions, 2)
})

test('end moved earlier mid-fan-out stops it (expired); start moved later defers it, and it resumes at the new start', async () => {
  const { restaurant } = await restaurantWith(AUDIENCE)
  const ended = randomUUID()
  const held = await midFanOut(restaurant, ended)
  const t = now()
  // Inside the 10-minute margin: the new end minus the margin has passed.
  await fx.produce([record(restaurant, ended, { adv_campaign_datetime_end: t + 300, datetime_created: t })])
  assert.ok(
    await eventually(
      async () =>
        (await q('select 1 from offerstream_campaigns where adv_campaign_id = $1 and adv_campaign_datetime_end = $2', [ended, t + 300]))
          .length === 1,
    ),
  )
  const atEnd = await pushedOf(ended)
  await held.release()
  assert.ok(await eventually(async () => (await statusOf(ended)).every(s => s === 'expired')))
  assert.equal(await pushedOf(ended), atEnd)

  const deferred = randomUUID()
  const held2 = await midFanOut(restaurant, deferred)
  await fx.produce([
    record(restaurant, deferred, {
      adv_campaign_datetime_start: now() + 3600,
      adv_campaign_datetime_end: now() + 7200,
      datetime_created: now(),
    }),
  ])
  assert.ok(
    await eventually(
      async () =>
        (await q('select 1 from offerstream_campaigns where adv_campaign_id = $1 and adv_campaign_datetime_start > $2', [deferred, now()]))
          .length === 1,
    ),
  )
  const atDefer = await pushedOf(deferred)
  await held2.release()
  assert.ok(
    await eventually(async () => (await statusOf(deferred)).every(s => s === 'pending'), 20000),
    `deferred to its new start: ${await statusOf(deferred)}`,
  )
  assert.equal(await pushedOf(deferred), atDefer)
  // Its new start comes (moved into the past, as rules.test.ts does): the fan-out resumes and completes.
  for (const table of ['offerstream_campaigns', 'offerstream_events'])
    await fx.pool.query(`update ${table} set adv_campaign_datetime_start = $2 where adv_campaign_id = $1`, [deferred, now() - 1])
  assert.ok(await eventually(async () => (await distinctOf(deferred)) === AUDIENCE))
  assert.equal(await pushedOf(deferred), AUDIENCE)
})
