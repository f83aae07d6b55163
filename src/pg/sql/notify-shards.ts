import type { Db } from '../db.ts'

/** The channel on which a commit that gave shards new work tells their owners (shard-notifications.ts). */
export const SHARD_CHANNEL = 'offerstream_shard_work'

/** Queues one notification per shard; PostgreSQL delivers them when the transaction commits. */
export async function notifyShards(client: Db, shards: Iterable<number>): Promise<void> {
  const list = [...new Set(shards)]
  if (list.length === 0) return
  await client.query({
    name: 'offerstream_notify_shards',
    text: 'select pg_notify($1, s::text) from unnest($2::int[]) s',
    values: [SHARD_CHANNEL, list],
  })
}
