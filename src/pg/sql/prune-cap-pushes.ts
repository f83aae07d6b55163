import type { Db } from '../db.ts'
import { capKeepFromSql } from './cap-keep-from.ts'

// One batch of the cap's push history that no window can need any more: entries older than the
// longest window before the oldest push still possible. Found through the BRIN index on `at`.
// Safe beside the fan-outs: an entry goes only once no push still to come can share a window with it.
const sql = (window: number) => `
delete from offerstream_cap_pushes where ctid = any(array(
  select ctid from offerstream_cap_pushes where at < ${capKeepFromSql(window)} limit $1))`

/** Deletes up to `limit` entries; `window` is the longest cap window in seconds. */
export async function pruneCapPushes(db: Db, o: { limit: number; window: number }): Promise<number> {
  const r = await db.query(sql(o.window), [o.limit])
  return r.rowCount ?? 0
}
