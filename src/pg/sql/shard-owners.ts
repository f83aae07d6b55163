import type { Db } from '../db.ts'

/** The owners the shards were last taken by (shards nobody took yet are left out). */
export async function shardOwners(db: Db, shards: number[]): Promise<string[]> {
  const { rows } = await db.query<{ owner: string }>(
    'select distinct owner from offerstream_shards where shard = any($1::int[]) and owner is not null order by owner',
    [shards],
  )
  return rows.map(r => r.owner)
}
