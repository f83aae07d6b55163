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
 * The shard's fan-outs in progress in round-robin order: those after afterId first, then wrapping
 * to the oldest (so one huge restaurant does not hold up the small ones behind it). Up to `limit`,
 * locked for this transaction. One query per writer transaction: it used to be one or two per
 * campaign taken, plus one more to find that the round was over.
 */
export async function fanningRoundRobin(client: Db, shard: number, afterId: number, limit: number): Promise<FanningEvent[]> {
  const { rows } = await client.query<FanningEvent>({
    name: 'offerstream_fanning_round_robin',
    text: `select id, restaurant_id as "restaurantId", adv_campaign_id as "campaignId",
             adv_campaign_datetime_start as start, adv_campaign_datetime_end as "end", fanout_after as "fanoutAfter"
           from offerstream_events where shard = $2 and status = '${FANNING}'
           order by id <= $1, id limit $3 for update`,
    values: [afterId, shard, limit],
  })
  return rows
}
