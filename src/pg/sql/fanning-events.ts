import type { CampaignState } from '../../core/campaign-state.ts'
import type { Db } from '../db.ts'

const FANNING: CampaignState = 'fanning'

export interface FanningEvent {
  id: number
  restaurantId: string
  campaignId: string
  start: number
  end: number
  fanoutAfter: string | null
}

/**
 * The shard's next fan-out in progress after afterId (round robin, so one huge restaurant does not hold up
 * the small ones behind it), wrapping to the oldest. Locks the row for this transaction.
 */
export async function nextFanningEvent(client: Db, shard: number, afterId: number): Promise<FanningEvent | null> {
  const after = await fanningEvents(client, shard, afterId)
  return after ?? (afterId > 0 ? fanningEvents(client, shard, 0) : null)
}

async function fanningEvents(client: Db, shard: number, afterId: number): Promise<FanningEvent | null> {
  const { rows } = await client.query<FanningEvent>({
    name: 'offerstream_fanning_events',
    text: `select id, restaurant_id as "restaurantId", adv_campaign_id as "campaignId",
             adv_campaign_datetime_start as start, adv_campaign_datetime_end as "end", fanout_after as "fanoutAfter"
           from offerstream_events where shard = $2 and status = '${FANNING}' and id > $1 order by id limit 1 for update`,
    values: [afterId, shard],
  })
  return rows[0] ?? null
}
