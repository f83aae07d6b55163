import type { Db } from '../db.ts'

/** Stops a fan-out whose campaign passed end minus margin before it finished. */
export async function expireEvent(client: Db, eventId: number): Promise<void> {
  await client.query({
    name: 'offerstream_expire_event',
    text: `update offerstream_events set status = 'expired' where id = $1`,
    values: [eventId],
  })
}
