import type { Db } from '../db.ts'

// Relay positions (what prune was told is published, index = shard) and each input partition's
// newest stored offset, raised (never lowered) in offerstream_floors before prune deletes anything.
const SQL = `
insert into offerstream_floors (kind, topic, part, position)
select 'push', '', s - 1, ($1::bigint[])[s] from generate_subscripts($1::bigint[], 1) s
union all select 'dlq', '', s - 1, ($2::bigint[])[s] from generate_subscripts($2::bigint[], 1) s
union all select 'input', source_topic, source_partition, max(source_offset) from (
  select source_topic, source_partition, source_offset from offerstream_events
  union all select source_topic, source_partition, source_offset from offerstream_rejects) x
  group by source_topic, source_partition
on conflict (kind, topic, part) do update set position = greatest(offerstream_floors.position, excluded.position)`

/** Records how far the tables prune is about to thin out went (migration 000007). */
export async function recordFloors(db: Db, published: { push: number[]; dlq: number[] }): Promise<void> {
  await db.query({ name: 'offerstream_record_floors', text: SQL, values: [published.push, published.dlq] })
}
