import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { decodeShardWork } from '../../src/core/shard-work.ts'
import { PgIngestStore } from '../../src/pg/ingest-store.ts'
import { PgShardOwner } from '../../src/pg/shard-owner.ts'
import { PgWriterStore } from '../../src/pg/writer-store.ts'
import { eventRows } from '../../testkit/event-row.ts'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'
import { eventually } from '../../testkit/service.ts'
import { listenForShardNotes } from '../../testkit/shard-notes.ts'

const until = async (cond: () => boolean, what: string) =>
  assert.ok(await eventually(async () => cond(), 30_000), `timed out waiting for ${what}`)

// The ingest stage's store: a batch's events are one statement that also notifies; its rejects, if
// any, a short transaction of their own before it. Both notify only for what was new, naming the
// sender and the detail.
let fx: Fixture
let listening: Awaited<ReturnType<typeof listenForShardNotes>> | undefined
let notes: string[] = []
before(async () => {
  fx = await createFixture()
  listening = await listenForShardNotes(fx.config.databaseUrl)
  notes = listening.notes
})
after(async () => {
  await listening?.close()
  await fx?.cleanup()
})

const T = Math.floor(Date.now() / 1000)
const records = eventRows('t', T)
const event = records.event
const reject = records.reject

test('events alone: stored and notified in one statement, once; a redelivery is skipped and sends nothing', async () => {
  const store = new PgIngestStore(fx.pool, 'inst/1', 8)
  const batch = [event(2, 'fanning'), event(2, 'pending', T + 500), event(5, 'pending', T + 900)]
  const first = await store.store(batch, [])
  assert.equal(first.rows.length, 3)
  await until(() => notes.length === 2, 'one notification per shard')
  assert.deepEqual(
    notes.map(decodeShardWork).sort((a, b) => (a?.shard ?? 0) - (b?.shard ?? 0)),
    [
      { shard: 2, sender: 'inst_1', work: { fanning: true, pendingStart: T + 500, rejects: false } },
      { shard: 5, sender: 'inst_1', work: { fanning: false, pendingStart: T + 900, rejects: false } },
    ],
  )
  const again = await store.store(batch, [])
  assert.equal(again.rows.length, 0, 'a redelivered batch stores nothing')
  const next = await store.store([event(7, 'fanning')], [])
  assert.equal(next.rows.length, 1)
  await until(() => notes.length === 3, "the next batch's notification")
  assert.equal(decodeShardWork(notes[2]!)?.shard, 7, 'the redelivery sent none in between')
  const { rows } = await fx.pool.query('select count(*)::int as n from offerstream_events')
  assert.equal(rows[0].n, 4)
})

test('events with rejects: both stored, and the reject shard is told it has rejects', async () => {
  notes.length = 0
  const store = new PgIngestStore(fx.pool, 'inst-2', 8)
  const result = await store.store([event(3, 'fanning')], [reject(4)])
  assert.equal(result.rows.length, 1)
  assert.equal(result.rejected, 1)
  await until(() => notes.length === 2, 'both shards notified')
  const work = new Map(notes.map(decodeShardWork).map(n => [n?.shard, n?.work]))
  assert.deepEqual(work.get(3), { fanning: true, pendingStart: null, rejects: false })
  assert.deepEqual(work.get(4), { fanning: false, pendingStart: null, rejects: true })
})

test("rejects do not hold their shards' locks while the batch's events wait for a campaign row a fan-out chunk holds", async () => {
  const store = new PgIngestStore(fx.pool, 'inst-3', 8)
  const first = event(1, 'fanning')
  await store.store([first], [])
  // A fan-out chunk of that campaign, in flight (on a CPU-starved instance, for hundreds of ms).
  const chunk = await fx.pool.connect()
  const probe = await fx.pool.connect()
  try {
    await chunk.query('begin')
    await chunk.query('select 1 from offerstream_campaigns where adv_campaign_id = $1 for share', [first.campaign.campaignId])
    // A re-send of the campaign (its row must be updated, so it waits) and a reject of shard 4.
    const storing = store.store([{ ...first, offset: records.nextOffset() }], [reject(4)])
    const waiting = await eventually(async () => {
      const { rows } = await probe.query(
        "select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like '%unnest($1::text[]%' and pid <> pg_backend_pid()",
      )
      return rows.length > 0
    }, 30_000)
    assert.ok(waiting, 'the events statement waits for the campaign row')
    // Shard 4's writer could go on: the reject committed and let go of its lock.
    await probe.query('begin')
    const { rows } = await probe.query<{ got: boolean }>('select pg_try_advisory_xact_lock(7304002, 4) as got')
    await probe.query('rollback')
    assert.equal(rows[0]?.got, true, "shard 4's lock is free while the events wait")
    const { rows: stored } = await probe.query<{ n: number }>('select count(*)::int as n from offerstream_rejects where shard = 4')
    assert.ok((stored[0]?.n ?? 0) >= 1, 'the reject is already committed')
    await chunk.query('commit')
    const result = await storing
    assert.equal(result.rows.length, 1)
    assert.equal(result.rejected, 1)
  } finally {
    await chunk.query('rollback').catch(() => {})
    chunk.release()
    probe.release()
  }
})

test("a batch of one shard that runs here goes through that shard's transaction: stored with its first chunk, no notification; if that fails, the plain statement stores it", async () => {
  const shard = 6
  const owner = new PgShardOwner(fx.pool)
  await owner.setup(8)
  const epoch = await owner.acquire(shard, 1, 'inst/1', true)
  assert.ok(epoch !== null)
  const writer = new PgWriterStore(fx.pool, shard, epoch)
  const store = new PgIngestStore(fx.pool, 'inst/1', 8)
  const first = event(shard, 'fanning')
  await fx.pool.query(
    'insert into subscribers_restaurants (client_id, restaurant_id) select gen_random_uuid(), $1 from generate_series(1, 5)',
    [first.campaign.restaurantId],
  )
  const before = notes.length
  // What Writer.offer runs: the ingest statement, then the transaction's round and a chunk.
  const r = await store.store([first], [], [], (s, events) => {
    assert.equal(s, shard)
    return writer.transaction(async tx => {
      const stored = await tx.storeEvents(events)
      // Other tests left fanning campaigns in this shard: the round has them too.
      let fanning = await tx.nextFanning(0, 64)
      while (fanning && fanning.campaignId !== first.campaign.campaignId) fanning = await tx.nextFanning(fanning.id, 64)
      assert.ok(fanning, 'the transaction sees the event it stored')
      await tx.fanOutChunk(fanning, 100, { nowSeconds: T, marginSeconds: 600 })
      return stored
    })
  })
  assert.equal(r.inShard, true)
  assert.equal(r.rows.length, 1)
  const pushed = await fx.pool.query('select count(*)::int as n from subscribers_feedback where adv_campaign_id = $1', [
    first.campaign.campaignId,
  ])
  assert.equal(pushed.rows[0].n, 5, 'committed with the event')

  const second = event(shard, 'fanning')
  const r2 = await store.store([second], [], [], (_s, events) =>
    writer.transaction(async tx => {
      await tx.storeEvents(events)
      throw new Error('the shard transaction failed after the ingest statement')
    }),
  )
  assert.equal(r2.inShard, false)
  assert.equal(r2.rows.length, 1, 'stored by the plain statement, the failed transaction having rolled back')
  await until(() => notes.length === before + 1, "the plain statement's notification")
  assert.deepEqual(decodeShardWork(notes.at(-1)!), { shard, sender: 'inst_1', work: { fanning: true, pendingStart: null, rejects: false } })
  const again = await store.store([first, second], [], [], () => undefined)
  assert.equal(again.rows.length, 0, 'a redelivery stores nothing')
})
