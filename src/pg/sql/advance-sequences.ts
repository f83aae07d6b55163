import type { Db } from '../db.ts'

// After a failover that lost transactions, the sequences are as far as the replica had them: new
// rows would take ids the relays have already published past (and be skipped) or that lost rows
// had. Moved to at least the highest published cursor; only ever forward. The sequences are found
// by their columns, so a subscribers_feedback created before offerstream (any sequence name) works.
export const serialSequence = (table: string) => `pg_get_serial_sequence('${table}', 'id')`
const advance = (table: string, param: string) =>
  `(select setval(${serialSequence(table)}, ${param}::bigint) where ${param}::bigint > coalesce(pg_sequence_last_value(${serialSequence(table)}::regclass), 0))`
const SQL = `select ${advance('subscribers_feedback', '$1')} as push, ${advance('offerstream_rejects', '$2')} as dlq`

export async function advanceSequences(db: Db, push: number, dlq: number): Promise<void> {
  await db.query({ name: 'offerstream_advance_sequences', text: SQL, values: [push, dlq] })
}
