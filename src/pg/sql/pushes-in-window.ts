import type { Db } from '../db.ts'
import { capKeepFromSql } from './cap-keep-from.ts'
import type { CapPushRow } from './pushes-since.ts'

// Every push a cap window can still need, and the newest id: how an instance's in-memory cap
// history starts (and starts over after a failed transaction, whose outcome it cannot know). No
// index on trigger time (the table is the user's, and its write rate matters more): one scan of
// subscribers_feedback, once per start. Read holding the caps' lease, so nothing is pushed meanwhile.
const rowsSql = (window: number) => `select id, client_id as client, restaurant_id as restaurant, trigger_datetime_created as at
  from subscribers_feedback where trigger_datetime_created >= ${capKeepFromSql(window)}`

export async function pushesInWindow(db: Db, window: number): Promise<{ newestId: number; rows: CapPushRow[] }> {
  const newestId = await newestPushId(db)
  const { rows } = await db.query<CapPushRow>(rowsSql(window))
  return { newestId, rows }
}

/** The newest push id (0: none): where the history stands when its holder lets go of the lease. */
export async function newestPushId(db: Db): Promise<number> {
  const { rows } = await db.query<{ id: number }>('select coalesce(max(id), 0) as id from subscribers_feedback')
  return rows[0]!.id
}
