import type pg from 'pg'
import type { Db } from './db.ts'
import { assertShardEpoch } from './sql/check-shard-epoch.ts'

// Every transaction that writes a shard's subscribers_feedback ranges or offerstream_rejects holds
// that shard's lock until it commits. So each shard's ids become visible in id order (the ids
// come from one sequence, and a transaction that starts after another committed draws larger
// ones), which is what lets each shard's relay keep a single cursor. Shards lock independently,
// so their fan-outs run side by side. (Before sharding this was one lock, 7304002 alone.)
const SHARD_LOCK = 7_304_002

/** Takes the locks of the given shards in ascending order, so two holders of several never deadlock. */
export async function takeShardLocks(client: Db, shards: Iterable<number>): Promise<void> {
  for (const shard of [...new Set(shards)].sort((a, b) => a - b)) {
    await client.query({ name: 'offerstream_shard_lock', text: 'select pg_advisory_xact_lock($1, $2)', values: [SHARD_LOCK, shard] })
  }
}

/**
 * Opens a shard writer's transaction: BEGIN, the shard lock and the epoch check (SHARD_LOST if
 * another instance took the shard) as one simple-protocol query, one round trip instead of three.
 * On a busy machine every round trip waits for a CPU twice (node, then the backend), so at 100
 * campaigns/s each one adds to every fan-out's time. Only integers are inlined.
 */
export async function beginShardTransaction(client: pg.PoolClient, shard: number, epoch: number): Promise<void> {
  const n = Math.trunc(shard)
  const results = (await client.query(
    `begin; select pg_advisory_xact_lock(${SHARD_LOCK}, ${n}); select epoch from offerstream_shards where shard = ${n}`,
  )) as unknown as pg.QueryResult<{ epoch: number }>[]
  assertShardEpoch(shard, results[2]?.rows[0]?.epoch, epoch)
}

/**
 * beginShardTransaction, but only if the shard's lock is free now: false (the transaction is left
 * open, for the caller to roll back) when another transaction holds it. For work that has
 * somewhere else to go rather than wait.
 */
export async function tryBeginShardTransaction(client: pg.PoolClient, shard: number, epoch: number): Promise<boolean> {
  const n = Math.trunc(shard)
  const results = (await client.query(
    `begin; select pg_try_advisory_xact_lock(${SHARD_LOCK}, ${n}) as got; select epoch from offerstream_shards where shard = ${n}`,
  )) as unknown as [pg.QueryResult, pg.QueryResult<{ got: boolean }>, pg.QueryResult<{ epoch: number }>]
  if (!results[1].rows[0]?.got) return false
  assertShardEpoch(shard, results[2].rows[0]?.epoch, epoch)
  return true
}

/** A shard that runs here, with the epoch its owner took it at. */
export interface HeldShard {
  shard: number
  epoch: number
  /** Wait for its lock (beginShardsTransaction's waitMs) instead of leaving the shard out when the lock is taken. */
  wait?: boolean
}

/**
 * Opens a transaction holding the locks of the given shards that are still at their epoch: those
 * marked `wait` are waited for, in ascending order (every holder of several shard locks takes them
 * ascending, so two never deadlock), up to waitMs for each, after which the whole transaction
 * fails (lock_timeout; the caller falls back); the others are taken only if free now.
 * BEGIN, the locks, then the epochs, read by a statement of its own so that it sees any owner change
 * committed before a lock was taken: one round trip. Returns the shards locked and still ours; a
 * shard found taken over stays locked (harmlessly) until the transaction ends, and is left out.
 */
export async function beginShardsTransaction(client: pg.PoolClient, shards: readonly HeldShard[], waitMs: number): Promise<number[]> {
  const sorted = [...shards].sort((a, b) => a.shard - b.shard)
  const list = sorted.map(s => Math.trunc(s.shard)).join(',')
  if (list === '') {
    await client.query('begin')
    return []
  }
  const waits = sorted.map(s => (s.wait && waitMs > 0 ? 'true' : 'false')).join(',')
  // lock_timeout only for the locks: the session's own value is back for the transaction's statements.
  const results = (await client.query(
    `begin; select set_config('offerstream.lock_timeout', current_setting('lock_timeout'), true), ` +
      `set_config('lock_timeout', '${Math.trunc(waitMs)}ms', true); ` +
      `select s as shard, case when w then pg_advisory_xact_lock(${SHARD_LOCK}, s) is not null ` +
      `else pg_try_advisory_xact_lock(${SHARD_LOCK}, s) end as got ` +
      `from (select s, w from unnest(array[${list}]::int[], array[${waits}]::bool[]) as t(s, w) order by s offset 0) q; ` +
      `select set_config('lock_timeout', current_setting('offerstream.lock_timeout'), true); ` +
      `select shard, epoch from offerstream_shards where shard in (${list})`,
  )) as unknown as [
    pg.QueryResult,
    pg.QueryResult,
    pg.QueryResult<{ shard: number; got: boolean }>,
    pg.QueryResult,
    pg.QueryResult<{ shard: number; epoch: number }>,
  ]
  const got = new Set(results[2].rows.filter(r => r.got).map(r => r.shard))
  const epochs = new Map(results[4].rows.map(r => [r.shard, Number(r.epoch)]))
  return shards.filter(s => got.has(s.shard) && epochs.get(s.shard) === s.epoch).map(s => s.shard)
}
