import type { Db } from '../db.ts'

// The floors of migration 000007: how far PostgreSQL is known to stand for the failover check.
/** Records the decision taken for a shard: PostgreSQL now stands at its relay's cursor. */
export async function raiseShardFloor(db: Db, shard: number, push: number, dlq: number): Promise<void> {
  await db.query({
    text: `insert into offerstream_floors (kind, topic, part, position) values ('push', '', $1, $2), ('dlq', '', $1, $3)
           on conflict (kind, topic, part) do update set position = greatest(offerstream_floors.position, excluded.position)`,
    values: [shard, push, dlq],
  })
}
