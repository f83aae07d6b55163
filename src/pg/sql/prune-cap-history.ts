import type { Db } from '../db.ts'
import { capKeepFromSql } from './cap-keep-from.ts'

// One batch of up to `limit` clients in client order (the batch's last client is read first): drops the history entries no push still possible can share
// a window with, and the rows left with none. Two statements in one transaction (a row cannot be
// updated and deleted by one). Runs beside the fan-outs: a row deleted under a fan-out's upsert is
// simply inserted again, and an entry is only ever dropped once no window can need it.
const TRIM = (window: number) => `
with keep as (select ${capKeepFromSql(window)} as keep_from)
update offerstream_cap_history h set (times, restaurants) = (
  select coalesce(array_agg(u.t order by u.o), '{}'), coalesce(array_agg(u.r order by u.o), '{}')
  from unnest(h.times, h.restaurants) with ordinality u(t, r, o) where u.t >= (select keep_from from keep))
where h.client_id > $1 and h.client_id <= $2
  and exists (select 1 from unnest(h.times) t where t < (select keep_from from keep))
returning h.client_id, cardinality(h.times) as left`

const DELETE = `
delete from offerstream_cap_history where client_id = any($1::uuid[]) and cardinality(times) = 0`

const LAST =
  'select client_id as last from (select client_id from offerstream_cap_history where client_id > $1 order by client_id limit $2) b order by client_id desc limit 1'

/** Trims up to `limit` clients' histories after `after`; returns the rows changed and where the next batch starts (null: done). */
export async function pruneCapHistory(
  db: Db,
  o: { after: string; limit: number; window: number },
): Promise<{ trimmed: number; deleted: number; last: string | null }> {
  const { rows } = await db.query<{ last: string }>(LAST, [o.after, o.limit])
  const last = rows[0]?.last
  if (last === undefined) return { trimmed: 0, deleted: 0, last: null }
  const trimmed = await db.query<{ client_id: string; left: number }>(TRIM(o.window), [o.after, last])
  const empty = trimmed.rows.filter(r => r.left === 0).map(r => r.client_id)
  const deleted = empty.length ? ((await db.query(DELETE, [empty])).rowCount ?? 0) : 0
  return { trimmed: trimmed.rowCount ?? 0, deleted, last }
}
