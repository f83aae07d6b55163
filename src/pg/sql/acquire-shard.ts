import type { Db } from '../db.ts'

/**
 * Takes a shard for `owner`: raises its epoch and returns the new one, or null when the shard was
 * handed out by a newer consumer-group generation than `generation` (this owner's assignment is
 * stale). `force` skips the generation test, for a group that was deleted and restarted its
 * generations from 1. Run under the shard lock, so it waits for the old owner's transaction.
 */
export async function acquireShard(client: Db, shard: number, generation: number, owner: string, force: boolean): Promise<number | null> {
  const { rows } = await client.query<{ epoch: number }>({
    name: 'offerstream_acquire_shard',
    text: `update offerstream_shards set epoch = epoch + 1, generation = $2, owner = $3, acquired_at = now()
           where shard = $1 and (generation <= $2 or $4) returning epoch`,
    values: [shard, generation, owner, force],
  })
  return rows[0]?.epoch ?? null
}
