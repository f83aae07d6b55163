import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import { PgIngestStore } from '../../src/pg/ingest-store.ts'
import { type EventRow, storeCampaignRecords } from '../../src/pg/sql/insert-events.ts'
import { pruneCampaigns } from '../../src/pg/sql/prune-campaigns.ts'
import { prunePreview } from '../../src/pg/sql/prune-preview.ts'
import { pruneBookkeeping } from '../../src/service/retention.ts'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'
import { eventually } from '../../testkit/service.ts'

// Retention of offerstream_campaigns (docs/operations.md, "Retention of campaign rows"): which rows
// prune deletes, and that a record stored while prune runs is never left without its row.
let fx: Fixture
let store: PgIngestStore
before(async () => {
  fx = await createFixture()
  store = new PgIngestStore(fx.pool, 'prune-campaigns-test', 1)
})
after(async () => fx?.cleanup())

const T = Math.floor(Date.now() / 1000)
let offset = 0
const record = (campaignId: string, restaurantId: string, end: number, status: EventRow['status'] = 'expired'): EventRow => ({
  topic: 't',
  partition: 0,
  offset: String(offset++),
  campaign: { restaurantId, campaignId, content: 'c', owner: null, ownerContact: null, created: end - 7200, start: end - 3600, end },
  status,
  trigger: null,
  shard: 0,
})
const cancel = (campaignId: string, restaurantId: string) => ({
  topic: 't',
  partition: 0,
  offset: String(offset++),
  cancel: { campaignId, restaurantId },
})
const rowOf = async (id: string) =>
  (
    await fx.pool.query('select versions, cancelled_at is not null as cancelled from offerstream_campaigns where adv_campaign_id = $1', [
      id,
    ])
  ).rows[0] as { versions: number; cancelled: boolean } | undefined
const dropEvents = (id: string) => fx.pool.query('delete from offerstream_events where adv_campaign_id = $1', [id])
const backdateCancel = (id: string, at: number) =>
  fx.pool.query('update offerstream_campaigns set cancelled_at = to_timestamp($2) where adv_campaign_id = $1', [id, at])
const NO_CURSOR = [{ push: 0, dlq: 0 }]

test('a row goes once no event is left and its campaign ended before the cut-off; a cancel stays until the cancels cut-off', async () => {
  const r = randomUUID()
  const ended = randomUUID() // ended, events pruned: goes
  const withEvent = randomUUID() // ended, but an event is left (one prune-events keeps: still fanning): stays
  const running = randomUUID() // ends after the cut-off: stays
  const cancelledEnded = randomUUID() // ended and cancelled long ago: goes only with the cancels' cut-off
  const unseenOld = randomUUID() // only a cancel, long ago: goes only with the cancels' cut-off
  const unseenNew = randomUUID() // only a cancel, recent: stays
  const cutoff = T - 86400
  await store.store(
    [
      record(ended, r, cutoff - 10),
      record(withEvent, r, cutoff - 10, 'fanning'),
      record(running, r, cutoff + 10),
      record(cancelledEnded, r, cutoff - 10),
    ],
    [],
    [cancel(cancelledEnded, r), cancel(unseenOld, r), cancel(unseenNew, r)],
  )
  for (const id of [ended, running, cancelledEnded]) await dropEvents(id) // as prune-events leaves them
  for (const id of [cancelledEnded, unseenOld]) await backdateCancel(id, cutoff - 100)
  const mine = [ended, withEvent, running, cancelledEnded, unseenOld, unseenNew]
  const left = async () => {
    const { rows } = await fx.pool.query<{ id: string }>(
      'select adv_campaign_id as id from offerstream_campaigns where adv_campaign_id = any($1::uuid[])',
      [mine],
    )
    return new Set(rows.map(x => x.id))
  }

  const preview = await prunePreview(fx.pool, { cutoff, cancelCutoff: 0, pushCursors: [0], dlqCursors: [0] })
  assert.ok(preview.campaigns >= 1, JSON.stringify(preview))
  // Without a cancels' cut-off (the library default), every cancel is kept. Batches of 1: the walk pages.
  const first = await pruneBookkeeping(fx.pool, { cutoff, published: NO_CURSOR, batch: 1, feedbackToo: false })
  assert.ok(first.campaigns >= 1, JSON.stringify(first))
  assert.deepEqual(await left(), new Set([withEvent, running, cancelledEnded, unseenOld, unseenNew]))
  // The cancels' cut-off past the old cancels: those go, the recent one stays.
  const second = await pruneBookkeeping(fx.pool, { cutoff, cancelCutoff: cutoff, published: NO_CURSOR, batch: 2, feedbackToo: false })
  assert.ok(second.campaigns >= 2, JSON.stringify(second))
  assert.deepEqual(await left(), new Set([withEvent, running, unseenNew]))
  const again = await prunePreview(fx.pool, { cutoff, cancelCutoff: cutoff, pushCursors: [0], dlqCursors: [0] })
  assert.equal(again.campaigns, 0, 'the dry run counts what a run deletes: nothing left')
})

test('the kept cancel still rules a campaign that arrives after the prune; a pruned campaign sent again starts a row of its own', async () => {
  const r = randomUUID()
  const unseen = randomUUID()
  const ended = randomUUID()
  await store.store([record(ended, r, T - 86400)], [], [cancel(unseen, r)])
  await dropEvents(ended)
  await pruneBookkeeping(fx.pool, { cutoff: T - 3600, cancelCutoff: T - 3600, published: NO_CURSOR, batch: 100, feedbackToo: false })
  assert.equal(await rowOf(ended), undefined)
  assert.deepEqual(await rowOf(unseen), { versions: 0, cancelled: true }, 'a cancel of this hour is kept')
  await store.store([record(unseen, r, T + 3600, 'fanning')], [])
  assert.deepEqual(await rowOf(unseen), { versions: 1, cancelled: true }, 'the late campaign meets its cancel')
  // The ended campaign's record read again (an input re-read after prune): a fresh row, nothing else.
  await store.store([record(ended, r, T - 86400)], [])
  assert.deepEqual(await rowOf(ended), { versions: 1, cancelled: false })
})

/** Runs pruneCampaigns on its own connection while `hold` keeps an ingest transaction open; returns what it deleted. */
async function pruneAround(id: string, hold: (c: import('pg').PoolClient) => Promise<void>) {
  const ingest = await fx.pool.connect()
  try {
    await ingest.query('begin')
    await hold(ingest)
    const pruning = pruneCampaigns(fx.pool, { after: '00000000-0000-0000-0000-000000000000', cutoff: T, cancelCutoff: T, limit: 1000 })
    const waiting = await eventually(
      async () =>
        (await fx.pool.query(`select 1 from pg_stat_activity where wait_event_type = 'Lock' and query like '%with candidate as%'`))
          .rowCount! > 0,
      10000,
    )
    assert.ok(waiting, 'prune waits for the ingest transaction holding the row')
    await ingest.query('commit')
    const result = await pruning
    assert.ok(result.examined >= 1, `${id} was a candidate in prune's snapshot`)
    return result
  } finally {
    ingest.release()
  }
}

test('a record stored while prune runs keeps its row: prune re-checks the locked row (versions) and leaves it', async () => {
  const r = randomUUID()
  const id = randomUUID()
  await store.store([record(id, r, T - 86400)], [])
  await dropEvents(id)
  // A new version arrives (a campaign sent again with a new end) in a transaction prune cannot see.
  await pruneAround(id, c => storeCampaignRecords(c, [record(id, r, T + 3600, 'fanning')], []).then(() => undefined))
  assert.deepEqual(await rowOf(id), { versions: 2, cancelled: false }, 'the row stays, with its new event')
  const events = await fx.pool.query('select 1 from offerstream_events where adv_campaign_id = $1', [id])
  assert.equal(events.rowCount, 1)

  // The same record read again, still ended: the row stays too (its event is new, whatever its end).
  const other = randomUUID()
  await store.store([record(other, r, T - 86400)], [])
  await dropEvents(other)
  await pruneAround(other, c => storeCampaignRecords(c, [record(other, r, T - 86400)], []).then(() => undefined))
  assert.deepEqual(await rowOf(other), { versions: 2, cancelled: false })

  // A cancel of an ended campaign committed while prune waits: kept (the cancels' cut-off is before it).
  const cancelled = randomUUID()
  await store.store([record(cancelled, r, T - 86400)], [])
  await dropEvents(cancelled)
  await pruneAround(cancelled, c => storeCampaignRecords(c, [], [cancel(cancelled, r)]).then(() => undefined))
  assert.deepEqual(await rowOf(cancelled), { versions: 1, cancelled: true })
})
