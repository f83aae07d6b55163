import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import { shardOf } from '../../src/core/shard.ts'
import { PgShardOwner } from '../../src/pg/shard-owner.ts'
import { shardExpression } from '../../src/pg/sql/shard-expression.ts'
import { PgWriterStore } from '../../src/pg/writer-store.ts'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'
import { eventually } from '../../testkit/service.ts'

let fx: Fixture
before(async () => {
  fx = await createFixture()
  await new PgShardOwner(fx.pool).setup(fx.config.shards)
})
after(() => fx.cleanup())

test('PostgreSQL computes the same shard as core for any campaign id and shard count', async () => {
  const ids = Array.from({ length: 500 }, () => randomUUID())
  for (const shards of [1, 7, 12, 256]) {
    const { rows } = await fx.pool.query<{ s: number }>(
      `select ${shardExpression('id', '$2::int')} as s from unnest($1::uuid[]) with ordinality as t(id, n) order by n`,
      [ids, shards],
    )
    assert.deepEqual(
      rows.map(r => r.s),
      ids.map(id => shardOf(id, shards)),
      `${shards} shards`,
    )
  }
  // Spread: 500 random ids over 12 shards leave none empty.
  assert.equal(new Set(ids.map(id => shardOf(id, 12))).size, 12)
})

test('the shard count is fixed once set up: another count is refused naming the setting', async () => {
  const owner = new PgShardOwner(fx.pool)
  assert.equal(await owner.setup(fx.config.shards), 'present')
  await assert.rejects(owner.setup(fx.config.shards + 1), (e: Error) => {
    assert.match(
      e.message,
      new RegExp(`OFFERSTREAM_SHARDS is ${fx.config.shards + 1} but this database was set up with ${fx.config.shards} shards`),
    )
    return true
  })
})

test('a new owner fences the old one: its next transaction fails with SHARD_LOST; an older generation cannot take the shard back', async () => {
  const owner = new PgShardOwner(fx.pool)
  const first = await owner.acquire(3, 10, 'a', false)
  assert.ok(first !== null)
  const old = new PgWriterStore(fx.pool, 3, first)
  assert.equal(await old.transaction(async tx => tx.nextPendingStart()), null, 'the owner works while it holds the epoch')
  const second = await owner.acquire(3, 11, 'b', false)
  assert.equal(second, first + 1)
  await assert.rejects(
    old.transaction(async () => 'late work'),
    (e: Error & { code?: string }) => e.code === 'SHARD_LOST',
  )
  await assert.rejects(owner.check(3, first), (e: Error & { code?: string }) => e.code === 'SHARD_LOST')
  await owner.check(3, second)
  assert.equal(await owner.acquire(3, 10, 'a', false), null, 'generation 10 is older than 11')
  assert.equal(await owner.acquire(3, 1, 'c', true), second + 1, 'force: a restarted group counts from 1 again')
})

test('taking a shard waits for the old owner’s transaction in flight, which commits before the new epoch', async () => {
  const owner = new PgShardOwner(fx.pool)
  const epoch = (await owner.acquire(4, 20, 'a', false))!
  const store = new PgWriterStore(fx.pool, 4, epoch)
  let release!: () => void
  const holding = new Promise<void>(resolve => {
    release = resolve
  })
  let inTx!: () => void
  const entered = new Promise<void>(resolve => {
    inTx = resolve
  })
  const oldTx = store.transaction(async () => {
    inTx()
    await holding
    return 'committed'
  })
  await entered
  let taken = false
  const takeover = owner.acquire(4, 21, 'b', false).then(e => {
    taken = true
    return e
  })
  const waiting = await eventually(async () => {
    const { rows } = await fx.pool.query(`select 1 from pg_locks where locktype = 'advisory' and not granted and objid = 4`)
    return rows.length > 0
  }, 30000)
  assert.ok(waiting, 'the takeover queues on the shard lock')
  assert.equal(taken, false, 'the new owner waits for the shard lock')
  release()
  assert.equal(await oldTx, 'committed')
  assert.equal(await takeover, epoch + 1)
})
