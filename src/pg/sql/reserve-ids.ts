import type { Db } from '../db.ts'
import { serialSequence } from './advance-sequences.ts'

/** n fresh ids of a table's sequence, ascending: taken now, so no other writer can get them. */
export async function reserveIds(db: Db, table: 'subscribers_feedback' | 'offerstream_rejects', n: number): Promise<number[]> {
  if (n === 0) return []
  const { rows } = await db.query({
    text: `select nextval(${serialSequence(table)}) as id from generate_series(1, $1::int) order by 1`,
    values: [n],
  })
  return rows.map(r => Number(r.id))
}
