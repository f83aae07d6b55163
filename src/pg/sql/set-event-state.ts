import type { SettableState } from '../../core/campaign-state.ts'
import type { Db } from '../db.ts'

/** Gives events the state the caller decided, and their trigger time when one is given. */
export async function setEventState(client: Db, ids: number[], state: SettableState, trigger: number | null): Promise<void> {
  if (ids.length === 0) return
  await client.query({
    name: 'offerstream_set_event_state',
    text: `update offerstream_events set status = $2, trigger_datetime_created = coalesce($3::bigint, trigger_datetime_created)
           where id = any($1::bigint[])`,
    values: [ids, state, trigger],
  })
}
