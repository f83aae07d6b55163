import type { Db } from '../db.ts'

interface LatestReject {
  id: number
  /** The input topic it came from: restaurant_actions or the feedback topic. */
  topic: string
  code: string
  reason: string
  partition: number
  offset: number
  /** Unix seconds. */
  receivedAt: number
}

const SQL = `
select id, source_topic as topic, code, reason, source_partition as partition, source_offset as "offset",
       extract(epoch from received_at)::bigint as "receivedAt"
from offerstream_rejects order by id desc limit $1`

/** The newest DLQ records of both inputs (campaigns and feedback), newest first, with the reason each was rejected. */
export async function latestRejects(db: Db, limit: number): Promise<LatestReject[]> {
  const { rows } = await db.query<LatestReject>({ name: 'offerstream_latest_rejects', text: SQL, values: [limit] })
  return rows
}
