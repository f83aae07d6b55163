import type { Db } from '../db.ts'

/** The channel on which a commit that gave shards new work tells their owners (shard-notifications.ts). */
export const SHARD_CHANNEL = 'offerstream_shard_work'

/**
 * Queues one notification per payload (core/shard-work.ts: the shard, optionally its sender and
 * what it got); PostgreSQL delivers them when the transaction commits.
 */
export async function notifyShards(client: Db, payloads: Iterable<string | number>): Promise<void> {
  const list = [...new Set([...payloads].map(String))]
  if (list.length === 0) return
  await client.query({
    name: 'offerstream_notify_shards',
    text: 'select pg_notify($1, p) from unnest($2::text[]) p',
    values: [SHARD_CHANNEL, list],
  })
}
