import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { decodeShardWork } from '../../src/core/shard-work.ts'
import { PgIngestStore } from '../../src/pg/ingest-store.ts'
import type { JointFanOut } from '../../src/pg/joint-ingest.ts'
import type { HeldShard } from '../../src/pg/shard-lock.ts'
import { PgShardOwner } from '../../src/pg/shard-owner.ts'
import type { EventRow } from '../../src/pg/sql/insert-events.ts'
import type { RoundResult } from '../../src/service/fan-out-round.ts'
import { jointFanOut } from '../../src/service/joint-fan-out.ts'
import { eventRows } from '../../testkit/event-row.ts'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'
import { eventually } from '../../testkit/service.ts'
import { listenForShardNotes } from '../../testkit/shard-notes.ts'

// The joint ingest transaction: a batch spanning shards stored in one transaction that also fans out
// the first chunks of its campaigns in the shards that run here and whose locks are free.
let fx: Fixture
let listening: Awaited<ReturnType<typeof listenForShardNotes>> | undefined
let notes: string[] = []
const held: HeldShard[] = []
before(async () => {
  fx = await createFixture()
  listening = await listenForShardNotes(fx.config.databaseUrl)
  notes = listening.notes
  const owner = new PgShardOwner(fx.pool)
  await owner.setup(8)
  for (const shard of [1, 2, 4, 5]) {
    const epoch = await owner.acquire(shard, 1, 'inst/j', true)
    assert.ok(epoch !== null)
    held.push({ shard, epoch })
  }
  // Shard 5 was then taken by another instance: its epoch is no longer ours.
  assert.ok((await owner.acquire(5, 2, 'other', true)) !== null)
})
after(async () => {
  await listening?.close()
  await fx?.cleanup()
})

const T = Math.floor(Date.now() / 1000)
const records = eventRows('j', T)
const event = (shard: number): EventRow => records.event(shard, 'fanning')
const subscribe = (e: EventRow, n: number) =>
  fx.pool.query('insert into subscribers_restaurants (client_id, restaurant_id) select gen_random_uuid(), $1 from generate_series(1, $2)', [
    e.campaign.restaurantId,
    n,
  ])
const count = async (sql: string, values: unknown[]) => (await fx.pool.query<{ n: number }>(sql, values)).rows[0]!.n
const pushes = (e: EventRow) =>
  count('select count(*)::int as n from subscribers_feedback where adv_campaign_id = $1', [e.campaign.campaignId])
const reject = records.reject
/** A transaction holding shard 4's lock, as its writer's would. */
const lockShard4 = async () => {
  const writer = await fx.pool.connect()
  await writer.query('begin')
  await writer.query('select pg_advisory_xact_lock(7304002, 4)')
  return {
    end: async () => {
      await writer.query('rollback')
      writer.release()
    },
  }
}
/** Whether some session waits for an advisory lock now. */
const advisoryWaiters = () =>
  count(
    "select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and wait_event = 'advisory' and datname = current_database()",
    [],
  )
const status = async (e: EventRow) =>
  (await fx.pool.query<{ status: string }>('select status from offerstream_events where adv_campaign_id = $1', [e.campaign.campaignId]))
    .rows[0]?.status

type Round = Pick<RoundResult, 'done' | 'exhausted'>
/** The service's joint fan-out (app.ts wires it to the shard manager) over the shards `held` names, recording what it is asked and tells. */
const joint = (fanoutChunk = 10_000, o: { lockWaitMs?: number; waitFor?: number[] } = {}) => {
  const log = { taken: [] as number[][], done: new Map<number, Round>() }
  const j = jointFanOut(
    {
      held: shards => {
        log.taken.push([...shards])
        return held.filter(h => shards.includes(h.shard)).map(h => ({ ...h, wait: o.waitFor?.includes(h.shard) ?? false }))
      },
      fannedOut: (shard, round) => log.done.set(shard, round),
    },
    { activeMarginSeconds: 600, fanoutChunk, jointLockWaitMs: o.lockWaitMs ?? 10_000 },
    { now: () => T * 1000, sleep: async () => {} },
  )
  return { j, log }
}

test('a batch of several shards: stored with the first chunks of the shards locked here, the others notified', async () => {
  const [small, big, elsewhere, busy, lost] = [event(1), event(2), event(3), event(4), event(5)]
  await subscribe(small, 5)
  await subscribe(big, 1500)
  for (const e of [elsewhere, busy, lost]) await subscribe(e, 3)
  // Shard 4's writer is in a transaction: the joint one must not wait for it.
  const writer = await fx.pool.connect()
  await writer.query('begin')
  await writer.query('select pg_advisory_xact_lock(7304002, 4)')
  const { j, log } = joint()
  const store = new PgIngestStore(fx.pool, 'inst/j', 8)
  const before = notes.length
  let r: Awaited<ReturnType<PgIngestStore['store']>>
  try {
    r = await store.store([small, big, elsewhere, busy, lost], [], [], undefined, j)
  } finally {
    await writer.query('rollback')
    writer.release()
  }
  assert.deepEqual(log.taken, [[1, 2, 3, 4, 5]])
  assert.deepEqual(r.fanned, [1, 2], 'the busy shard and the one taken over are left out')
  assert.equal(r.rows.length, 5)
  assert.equal(await pushes(small), 5, 'a small campaign is done with its ingest')
  assert.equal(await status(small), 'done')
  assert.equal(await pushes(big), 1001, "a big campaign's first chunk is cut short; its writer goes on")
  assert.equal(await status(big), 'fanning')
  for (const e of [elsewhere, busy, lost]) {
    assert.equal(await pushes(e), 0)
    assert.equal(await status(e), 'fanning')
  }
  assert.deepEqual(
    log.done.get(1)?.done.map(d => [d.inserted, d.finished, d.small]),
    [[5, true, true]],
  )
  assert.deepEqual(
    log.done.get(2)?.done.map(d => [d.inserted, d.finished]),
    [[1001, false]],
  )
  // Each campaign's rows are one range of its shard.
  const ranges = await fx.pool.query('select shard, row_count from offerstream_fanouts where adv_campaign_id = any($1) order by shard', [
    [small.campaign.campaignId, big.campaign.campaignId],
  ])
  assert.deepEqual(ranges.rows, [
    { shard: 1, row_count: 5 },
    { shard: 2, row_count: 1001 },
  ])
  assert.ok(await eventually(async () => notes.length === before + 3, 30_000), 'three notifications')
  assert.deepEqual(
    notes
      .slice(before)
      .map(n => decodeShardWork(n)?.shard)
      .sort(),
    [3, 4, 5],
    'only the shards not locked here are notified',
  )
  const again = await store.store([small, big, elsewhere, busy, lost], [], [], undefined, j)
  assert.equal(again.rows.length, 0, 'a redelivery stores nothing')
  assert.equal(await pushes(small), 5)
})

test('when the joint transaction fails, the plain statement stores the batch and notifies every shard', async () => {
  const [a, b] = [event(1), event(2)]
  await subscribe(a, 4)
  const { j: real, log } = joint()
  const j: JointFanOut<Round> = {
    ...real,
    fanOut: async () => {
      throw new Error('a chunk failed')
    },
  }
  const store = new PgIngestStore(fx.pool, 'inst/j', 8)
  const before = notes.length
  const r = await store.store([a, b], [], [], undefined, j)
  assert.deepEqual(log.taken, [[1, 2]], 'the joint transaction was tried')
  assert.deepEqual(r.fanned, [])
  assert.equal(r.rows.length, 2, 'stored by the plain statement after the rollback')
  assert.equal(await pushes(a), 0, 'nothing of the failed transaction is left')
  assert.equal(await status(a), 'fanning')
  assert.ok(await eventually(async () => notes.length === before + 2, 30_000), 'both shards notified')
})

test('no joint transaction for a batch of one shard, or when none of its shards runs here', async () => {
  const taken: number[][] = []
  const { j } = joint()
  const declining: JointFanOut<Round> = {
    ...j,
    take: shards => {
      taken.push(shards)
      return undefined
    },
  }
  const store = new PgIngestStore(fx.pool, 'inst/j', 8)
  const one = await store.store([event(1), event(1)], [], [], undefined, declining)
  assert.deepEqual(taken, [], "a batch of one shard is its shard writer's (Writer.offer)")
  const two = await store.store([event(1), event(2)], [], [], undefined, declining)
  assert.deepEqual(taken, [[1, 2]], 'asked, declined: stored plainly')
  assert.deepEqual([one.fanned, two.fanned, one.rows.length, two.rows.length], [[], [], 2, 2])
})

test("the joint transaction fans out one fan-out transaction's rows at most; a shard it had no room for is left to its writer", async () => {
  const [first, second] = [event(1), event(2)]
  await subscribe(first, 995)
  await subscribe(second, 4)
  const { j, log } = joint(1000)
  const r = await new PgIngestStore(fx.pool, 'inst/j', 8).store([first, second], [], [], undefined, j)
  assert.deepEqual(r.fanned, [1, 2])
  assert.equal(await pushes(first), 995)
  assert.equal(await status(first), 'done')
  assert.equal(await pushes(second), 0, 'the budget was spent in shard 1')
  assert.equal(await status(second), 'fanning')
  assert.deepEqual(
    log.done.get(2),
    { done: [], exhausted: false, held: false },
    "shard 2's writer is told its round did not finish, and wakes",
  )
})

test("a shard to wait for is waited for: when its writer's transaction ends, the joint one locks it and fans out its campaign", async () => {
  const [a, b] = [event(1), event(4)]
  await subscribe(a, 3)
  await subscribe(b, 3)
  const lock = await lockShard4()
  const { j } = joint(10_000, { waitFor: [1, 4] })
  const storing = new PgIngestStore(fx.pool, 'inst/j', 8).store([a, b], [], [], undefined, j)
  try {
    assert.ok(await eventually(async () => (await advisoryWaiters()) === 1, 30_000), "the joint transaction waits for shard 4's lock")
  } finally {
    await lock.end()
  }
  const r = await storing
  assert.deepEqual(r.fanned, [1, 4])
  assert.deepEqual([await pushes(a), await pushes(b)], [3, 3])
  assert.deepEqual([await status(a), await status(b)], ['done', 'done'])
})

test('a lock not had within the wait fails the joint transaction: the batch is stored plainly and every shard notified', async () => {
  const [a, b] = [event(1), event(4)]
  await subscribe(a, 3)
  const lock = await lockShard4()
  const before = notes.length
  let r: Awaited<ReturnType<PgIngestStore['store']>>
  try {
    r = await new PgIngestStore(fx.pool, 'inst/j', 8).store([a, b], [], [], undefined, joint(10_000, { waitFor: [4], lockWaitMs: 20 }).j)
  } finally {
    await lock.end()
  }
  assert.deepEqual(r.fanned, [])
  assert.equal(r.rows.length, 2)
  assert.equal(await pushes(a), 0, 'nothing of the failed transaction is left')
  assert.ok(await eventually(async () => notes.length === before + 2, 30_000), 'both shards notified')
})

test('a batch with rejects: they commit first, apart; its campaigns still go through the joint transaction', async () => {
  const [a, b] = [event(1), event(2)]
  await subscribe(a, 2)
  await subscribe(b, 2)
  const before = notes.length
  const bad = reject(6)
  const r = await new PgIngestStore(fx.pool, 'inst/j', 8).store([a, b], [bad], [], undefined, joint().j)
  assert.deepEqual(r.fanned, [1, 2])
  assert.equal(r.rejected, 1)
  assert.deepEqual([await pushes(a), await pushes(b)], [2, 2])
  assert.equal(await count('select count(*)::int as n from offerstream_rejects where shard = 6', []), 1)
  assert.ok(await eventually(async () => notes.length === before + 1, 30_000), "the reject's shard is notified")
  assert.deepEqual(decodeShardWork(notes.at(-1)!)?.shard, 6)
  const again = await new PgIngestStore(fx.pool, 'inst/j', 8).store([a, b], [bad], [], undefined, joint().j)
  assert.deepEqual([again.rows.length, again.rejected], [0, 0], 'a redelivery stores nothing')
  assert.equal(await count('select count(*)::int as n from offerstream_rejects where shard = 6', []), 1)
})
