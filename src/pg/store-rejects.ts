import type { Db } from './db.ts'
import { takeShardLocks } from './shard-lock.ts'
import { insertRejects, type RejectRow } from './sql/insert-rejects.ts'
import { notifyShards } from './sql/notify-shards.ts'

/**
 * Stores rejects under their shards' locks and, unless the caller sends its own notifications,
 * tells the shards' owners; part of the caller's transaction.
 */
export async function storeRejects(client: Db, rows: RejectRow[], notify = true): Promise<number> {
  if (rows.length === 0) return 0
  const shards = rows.map(r => r.shard)
  await takeShardLocks(client, shards)
  const stored = await insertRejects(client, rows)
  if (stored > 0 && notify) await notifyShards(client, shards)
  return stored
}
