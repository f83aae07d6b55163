import type { Rejection } from '../../core/reject-reason.ts'
import type { Db } from '../db.ts'

export interface RejectRow {
  topic: string
  partition: number
  offset: string
  key: Buffer | null
  value: Buffer | null
  rejection: Rejection
  /** The shard whose relay copies it to the DLQ (rejectShard in core/shard.ts). */
  shard: number
}

const SQL = `
insert into offerstream_rejects (source_topic, source_partition, source_offset, record_key, record_value, code, reason, shard)
select * from unnest($1::text[], $2::int[], $3::bigint[], $4::bytea[], $5::bytea[], $6::text[], $7::text[], $8::int[])
on conflict (source_topic, source_partition, source_offset) do nothing`

// PostgreSQL text cannot hold NUL; a reason quoting the bad input could contain one.
const clean = (s: string) => s.replaceAll('\u0000', '\\u0000')

/**
 * Stores rejected records with their original bytes; a redelivered record is skipped. The caller
 * holds the lock of every shard in rows (shard-lock.ts): each shard's rejects must commit in id order.
 */
export async function insertRejects(client: Db, rows: RejectRow[]): Promise<number> {
  if (rows.length === 0) return 0
  const result = await client.query({
    name: 'offerstream_insert_rejects',
    text: SQL,
    values: [
      rows.map(r => r.topic),
      rows.map(r => r.partition),
      rows.map(r => r.offset),
      rows.map(r => r.key),
      rows.map(r => r.value),
      rows.map(r => r.rejection.code),
      rows.map(r => clean(r.rejection.reason)),
      rows.map(r => r.shard),
    ],
  })
  return result.rowCount ?? 0
}
