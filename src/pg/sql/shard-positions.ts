import type { Db } from '../db.ts'

// Each shard's newest fan-out range end and newest reject id: a shard's ranges and rejects commit
// in id order under its lock, so whatever the relay published of it lies at or below these unless
// PostgreSQL lost transactions. Both come from index scans ((shard, first_id), (shard, id)).
const SHARDS_SQL = `
select s.shard,
  greatest(coalesce((select last_id from offerstream_fanouts where shard = s.shard order by first_id desc limit 1), 0),
           coalesce((select position from offerstream_floors where kind = 'push' and topic = '' and part = s.shard), 0)) as push,
  greatest(coalesce((select id from offerstream_rejects where shard = s.shard order by id desc limit 1), 0),
           coalesce((select position from offerstream_floors where kind = 'dlq' and topic = '' and part = s.shard), 0)) as dlq
from generate_series(0, $1::int - 1) s(shard) order by s.shard`

/** What PostgreSQL holds of each shard's relayed work (index = shard). */
export async function shardPositions(db: Db, shards: number): Promise<Array<{ push: number; dlq: number }>> {
  const { rows } = await db.query({ name: 'offerstream_shard_positions', text: SHARDS_SQL, values: [shards] })
  return rows.map(r => ({ push: Number(r.push), dlq: Number(r.dlq) }))
}
