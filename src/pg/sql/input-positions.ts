import type { Db } from '../db.ts'

// Per input partition, the newest stored offset among events and rejects (unique-index scans).
const INPUT_SQL = `
select p.part,
  greatest((select max(source_offset) from offerstream_events where source_topic = $1 and source_partition = p.part),
           (select max(source_offset) from offerstream_rejects where source_topic = $1 and source_partition = p.part),
           (select position from offerstream_floors where kind = 'input' and topic = $1 and part = p.part))::text as stored
from unnest($2::int[]) p(part)`

/** The newest stored input offset of each partition asked for; null where nothing is stored. */
export async function inputPositions(db: Db, topic: string, partitions: number[]): Promise<Map<number, bigint | null>> {
  const { rows } = await db.query({ name: 'offerstream_input_positions', text: INPUT_SQL, values: [topic, partitions] })
  return new Map(rows.map(r => [r.part as number, r.stored === null ? null : BigInt(r.stored)]))
}
