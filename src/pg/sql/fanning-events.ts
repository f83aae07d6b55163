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
  /**
   * The campaign has another event, or pruned fan-outs: its fan-out must skip clients those reached.
   * A superset of "fanned out before" (the other event may not have fanned out yet, or may do so
   * earlier in this very transaction), so the chunk can choose its plan without a query of its own.
   */
  resent: boolean
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
             adv_campaign_datetime_start as start, adv_campaign_datetime_end as "end", fanout_after as "fanoutAfter",
             exists (select 1 from offerstream_events o where o.adv_campaign_id = e.adv_campaign_id and o.id <> e.id)
               or exists (select 1 from offerstream_pruned_fanouts p where p.adv_campaign_id = e.adv_campaign_id) as resent
           from offerstream_events e where shard = $2 and status = '${FANNING}'
           order by id <= $1, id limit $3 for update`,
    values: [afterId, shard, limit],
  })
  return rows
}
