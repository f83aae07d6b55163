import { createHash } from 'node:crypto'

// A campaign's shard: the first 28 bits of md5(campaign id) modulo the shard count. Keyed by the
// campaign, not the restaurant or the input key, because dedup is per (campaign, client) across
// every event of a campaign: all of them must meet in one shard, whatever key they were sent with.
// md5 rather than the UUID's own bits because UUIDv1/v7 ids share their leading bits for minutes.
// PostgreSQL computes the same value (src/pg/sql/shard-expression.ts); a test checks the two agree.
export function shardOf(campaignId: string, shards: number): number {
  const digest = createHash('md5').update(campaignId).digest('hex')
  return Number.parseInt(digest.slice(0, 7), 16) % shards
}

// A rejected record has no trustworthy campaign id, so its shard follows its input partition: the
// rejects of one partition keep their order on their way to the dead-letter topic.
export function rejectShard(partition: number, shards: number): number {
  return partition % shards
}
