import type { Db } from '../db.ts'

/** A shard taken: its new epoch, and the owner it had before (null for a shard nobody took yet). */
export interface AcquiredShard {
  epoch: number
  previousOwner: string | null
}

/**
 * Takes a shard for `owner`: raises its epoch and returns the new one with the previous owner, or
 * null when the shard was handed out by a newer consumer-group generation than `generation` (this
 * owner's assignment is stale). `force` skips the generation test, for a group that was deleted and
 * restarted its generations from 1. Run under the shard lock, so it waits for the old owner's
 * transaction and nobody changes the row between the two reads of it.
 */
export async function acquireShard(
  client: Db,
  shard: number,
  generation: number,
  owner: string,
  force: boolean,
): Promise<AcquiredShard | null> {
  const { rows } = await client.query<{ epoch: number; previous_owner: string | null }>({
    name: 'offerstream_acquire_shard',
    text: `update offerstream_shards s set epoch = s.epoch + 1, generation = $2, owner = $3, acquired_at = now()
           from (select owner from offerstream_shards where shard = $1) before
           where s.shard = $1 and (s.generation <= $2 or $4) returning s.epoch, before.owner as previous_owner`,
    values: [shard, generation, owner, force],
  })
  const row = rows[0]
  return row ? { epoch: row.epoch, previousOwner: row.previous_owner } : null
}
