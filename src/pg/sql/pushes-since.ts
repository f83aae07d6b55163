import type { Db } from '../db.ts'

/** A committed push as the frequency caps see it. */
export interface CapPushRow {
  id: number
  client: string
  restaurant: string
  at: number
}

// Every push committed after the given id, in id order: what other instances pushed while this one
// did not hold the caps' lease (src/pg/cap-gate.ts). Read once the lease is taken again, when no
// transaction of another instance can still push, and the id is the newest one when this instance
// let go, so every row after it is another's. A primary-key range scan, usually short.
const text = `select id, client_id as client, restaurant_id as restaurant, trigger_datetime_created as at
  from subscribers_feedback where id > $1 order by id`

export async function pushesSince(db: Db, afterId: number): Promise<CapPushRow[]> {
  const { rows } = await db.query<CapPushRow>({ name: 'offerstream_pushes_since', text, values: [afterId] })
  return rows
}
