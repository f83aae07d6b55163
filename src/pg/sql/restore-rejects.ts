import type { Db } from '../db.ts'

// Failover repair (src/service/regression-repair.ts): rows Kafka proves were pushed but PostgreSQL lost.
const REJECTS_SQL = `
insert into offerstream_rejects (id, source_topic, source_partition, source_offset, record_key, record_value, code, reason, shard)
select * from unnest($1::bigint[], $2::text[], $3::int[], $4::bigint[], $5::bytea[], $6::bytea[], $7::text[], $8::text[], $9::int[])
on conflict (source_topic, source_partition, source_offset) do nothing`

export interface RestoredReject {
  id: number
  topic: string
  partition: number
  offset: string
  key: Buffer | null
  value: Buffer | null
  code: string
  reason: string
  shard: number
}

/** Rejects already in the DLQ that PostgreSQL lost: back under their input positions, so redelivery stays a no-op. */
export async function restoreRejects(db: Db, rows: RestoredReject[]): Promise<void> {
  if (rows.length === 0) return
  const col = <T>(f: (r: RestoredReject) => T) => rows.map(f)
  await db.query({
    text: REJECTS_SQL,
    values: [
      col(r => r.id),
      col(r => r.topic),
      col(r => r.partition),
      col(r => r.offset),
      col(r => r.key),
      col(r => r.value),
      col(r => r.code),
      col(r => r.reason),
      col(r => r.shard),
    ],
  })
}

const MISSING_REJECTS_SQL = `
select p.t as topic, p.p as partition, p.o::text as offset from unnest($1::text[], $2::int[], $3::bigint[]) p(t, p, o)
where not exists (select 1 from offerstream_rejects r where r.source_topic = p.t and r.source_partition = p.p and r.source_offset = p.o)`

/** The input positions among those given that offerstream_rejects lacks. */
export async function missingRejects(db: Db, positions: Array<{ topic: string; partition: number; offset: string }>): Promise<Set<string>> {
  const { rows } = await db.query({
    text: MISSING_REJECTS_SQL,
    values: [positions.map(p => p.topic), positions.map(p => p.partition), positions.map(p => p.offset)],
  })
  return new Set(rows.map(r => `${r.topic}\u0000${r.partition}\u0000${r.offset}`))
}
