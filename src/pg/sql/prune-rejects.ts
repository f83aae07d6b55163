import type { Db } from '../db.ts'

// Only rejects at or below their shard relay's committed DLQ cursor (index shard + 1 of the array): those are in the DLQ topic for good.
// Deleted lowest id first, so each batch starts where the last one stopped.
const SQL = `
delete from offerstream_rejects where id in (
  select id from offerstream_rejects where id <= coalesce(($1::bigint[])[shard + 1], 0) and received_at < to_timestamp($2) order by id limit $3)`

/** Deletes up to `limit` published rejects received before `cutoff` (unix seconds). */
export async function pruneRejects(db: Db, o: { dlqCursors: number[]; cutoff: number; limit: number }): Promise<number> {
  const result = await db.query({ name: 'offerstream_prune_rejects', text: SQL, values: [o.dlqCursors, o.cutoff, o.limit] })
  return result.rowCount ?? 0
}
