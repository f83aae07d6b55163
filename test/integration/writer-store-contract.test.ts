import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import type { RuledState } from '../../src/core/campaign-state.ts'
import { PgShardOwner } from '../../src/pg/shard-owner.ts'
import { insertEvents } from '../../src/pg/sql/insert-events.ts'
import { PgWriterStore } from '../../src/pg/writer-store.ts'
import type { WriterStore, WriterTx } from '../../src/service/ports.ts'
import { eventRows } from '../../testkit/event-row.ts'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'
import { MemWriterStore } from '../unit/support/fakes.ts'

// WriterTx's contract (src/service/ports.ts) run against the PostgreSQL adapter and the in-memory
// fake the writer's unit tests use, case by case: if the fake drifts from production, this fails.

/** One shard's store, empty, and a way to put campaigns in it. */
interface Subject {
  store: WriterStore
  add(status: RuledState, start?: number): Promise<number>
}

const T = Math.floor(Date.now() / 1000)
let fx: Fixture
let nextShard = 0
const records = eventRows('contract', T)
const SHARDS = 16

before(async () => {
  fx = await createFixture()
  await new PgShardOwner(fx.pool).setup(SHARDS)
})
after(async () => fx?.cleanup())

async function pgSubject(): Promise<Subject> {
  const shard = nextShard++
  assert.ok(shard < SHARDS - 1, 'enough shards for the cases')
  const epoch = await new PgShardOwner(fx.pool).acquire(shard, 1, 'contract-test', false)
  assert.ok(epoch !== null)
  const add = async (status: RuledState, start = T - 60, inShard = shard) => {
    const [row] = await insertEvents(fx.pool, [records.event(inShard, status, start)])
    assert.ok(row)
    return row.id
  }
  // A fanning campaign of the last shard: no case may ever see it.
  await add('fanning', T - 60, SHARDS - 1)
  return { store: new PgWriterStore(fx.pool, shard, epoch), add: (status, start) => add(status, start) }
}

async function memSubject(): Promise<Subject> {
  const store = new MemWriterStore()
  return { store, add: async (status, start = T - 60) => store.addEvent({ restaurantId: randomUUID(), start, end: T + 3600, status }).id }
}

/** Calls nextFanning the way the writer does (each call passing the id just taken) until null; the ids in order. */
async function round(tx: WriterTx, afterId: number, limit: number): Promise<number[]> {
  const ids: number[] = []
  let last = afterId
  for (let e = await tx.nextFanning(last, limit); e; e = await tx.nextFanning(last, limit)) {
    ids.push(e.id)
    last = e.id
    assert.ok(ids.length <= limit, 'a round never exceeds its limit')
  }
  assert.equal(await tx.nextFanning(last, limit), null, 'and stays over')
  return ids
}

const cases: Array<[string, (s: Subject) => Promise<void>]> = [
  [
    'nextFanning: one round per transaction, after afterId first, then wrapping to the oldest, each once, then null',
    async s => {
      const [a, b, c, d] = [await s.add('fanning'), await s.add('fanning'), await s.add('fanning'), await s.add('fanning')]
      await s.add('pending', T + 600)
      await s.add('expired')
      assert.deepEqual(await s.store.transaction(tx => round(tx, b, 64)), [c, d, a, b])
      assert.deepEqual(await s.store.transaction(tx => round(tx, 0, 64)), [a, b, c, d], 'a new transaction, a new round')
      assert.deepEqual(await s.store.transaction(tx => round(tx, d + 1000, 64)), [a, b, c, d], 'past every id: from the oldest')
    },
  ],
  [
    'nextFanning: a round holds at most `limit` campaigns',
    async s => {
      const [a, b, c] = [await s.add('fanning'), await s.add('fanning'), await s.add('fanning')]
      assert.deepEqual(await s.store.transaction(tx => round(tx, a, 2)), [b, c])
      assert.deepEqual(await s.store.transaction(tx => round(tx, c, 2)), [a, b])
    },
  ],
  [
    'nextFanning: null when nothing is fanning',
    async s => {
      await s.add('pending', T + 600)
      assert.deepEqual(await s.store.transaction(tx => round(tx, 0, 64)), [])
    },
  ],
  [
    'nextFanning: a campaign that starts fanning after the round was taken waits for the next transaction',
    async s => {
      const a = await s.add('fanning')
      const p = await s.add('pending', T - 1)
      const seen = await s.store.transaction(async tx => {
        const first = await tx.nextFanning(0, 64)
        await tx.setState([p], 'fanning', T)
        return [first?.id, (await tx.nextFanning(first?.id ?? 0, 64))?.id ?? null]
      })
      assert.deepEqual(seen, [a, null])
      assert.deepEqual(await s.store.transaction(tx => round(tx, a, 64)), [p, a])
    },
  ],
  [
    'dueCampaigns and nextPendingStart see pending campaigns only; a failed transaction leaves no trace',
    async s => {
      const due = await s.add('pending', T - 5)
      await s.add('pending', T + 100)
      await s.add('fanning')
      const { ids, next } = await s.store.transaction(async tx => ({
        ids: (await tx.dueCampaigns(T)).map(c => c.id),
        next: await tx.nextPendingStart(),
      }))
      assert.deepEqual(ids, [due])
      assert.equal(next, T - 5)
      await assert.rejects(
        s.store.transaction(async tx => {
          await tx.setState([due], 'fanning', T)
          throw new Error('rolled back')
        }),
        /rolled back/,
      )
      assert.deepEqual(await s.store.transaction(async tx => (await tx.dueCampaigns(T)).map(c => c.id)), [due])
    },
  ],
]

for (const [name, run] of cases) {
  test(`PostgreSQL: ${name}`, async () => run(await pgSubject()))
  test(`in memory: ${name}`, async () => run(await memSubject()))
}
