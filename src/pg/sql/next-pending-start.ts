import type { CampaignState } from '../../core/campaign-state.ts'
import type { Db } from '../db.ts'

const PENDING: CampaignState = 'pending'

/** Start time (unix seconds, of its current version) of the shard's earliest pending campaign, or null when none waits. */
export async function nextPendingStart(client: Db, shard: number): Promise<number | null> {
  const { rows } = await client.query<{ start: number | null }>({
    name: 'offerstream_next_pending_start',
    text: `select min(c.adv_campaign_datetime_start) as start
           from offerstream_events e join offerstream_campaigns c using (adv_campaign_id)
           where e.shard = $1 and e.status = '${PENDING}'`,
    values: [shard],
  })
  return rows[0]?.start ?? null
}
