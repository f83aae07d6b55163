import type { Db } from '../db.ts'

// prune --feedback-too: the suppressed pairs of campaigns that ended before the cut-off go with
// their pushes. Nothing reads them by end, so a batch is found by a scan; the table holds only the
// pairs a cap kept back.
const SQL = `
delete from offerstream_suppressed where ctid = any(array(
  select ctid from offerstream_suppressed where adv_campaign_datetime_end < $1 limit $2))`

export async function pruneSuppressed(db: Db, o: { cutoff: number; limit: number }): Promise<number> {
  const r = await db.query({ name: 'offerstream_prune_suppressed', text: SQL, values: [o.cutoff, o.limit] })
  return r.rowCount ?? 0
}
