import type { RejectCode } from '../../core/reject-reason.ts'
import type { Db } from '../db.ts'

export interface StoredReject {
  id: number
  topic: string
  partition: number
  offset: string
  key: Buffer | null
  value: Buffer | null
  code: RejectCode
  reason: string
}

/** The shard's rejected records not yet copied to the DLQ, in id order. */
export async function relayRejects(client: Db, shard: number, afterId: number, limit: number): Promise<StoredReject[]> {
  const { rows } = await client.query({
    name: 'offerstream_relay_rejects',
    text: `select id, source_topic, source_partition, source_offset::text as source_offset, record_key, record_value, code, reason
           from offerstream_rejects where shard = $3 and id > $1 order by id limit $2`,
    values: [afterId, limit, shard],
  })
  return rows.map(r => ({
    id: r.id,
    topic: r.source_topic,
    partition: r.source_partition,
    offset: r.source_offset,
    key: r.record_key,
    value: r.record_value,
    code: r.code,
    reason: r.reason,
  }))
}
