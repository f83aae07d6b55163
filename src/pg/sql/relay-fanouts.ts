import type { Campaign } from '../../core/campaign.ts'
import type { Db } from '../db.ts'

export interface RelayFanout {
  firstId: number
  lastId: number
  eventId: number
  trigger: number
  campaign: Campaign
}

/**
 * The shard's committed fan-out ranges not yet fully relayed (their last id is past the cursor), oldest first.
 * Ranges are disjoint and ordered, so the scan starts at the range holding the cursor: a primary-key
 * range scan, not a pass over every fan-out ever made.
 */
export async function relayFanouts(client: Db, shard: number, afterId: number, limit: number): Promise<RelayFanout[]> {
  const { rows } = await client.query({
    name: 'offerstream_relay_fanouts',
    text: `select x.first_id, x.last_id, x.event_id, e.trigger_datetime_created, e.restaurant_id, e.adv_campaign_id,
             e.adv_campaign_content, e.adv_campaign_owner, e.adv_campaign_owner_contact,
             e.adv_campaign_datetime_start, e.adv_campaign_datetime_end, e.datetime_created
           from offerstream_fanouts x join offerstream_events e on e.id = x.event_id
           where x.shard = $3
             and x.first_id >= coalesce((select max(first_id) from offerstream_fanouts where shard = $3 and first_id <= $1), 0)
             and x.last_id > $1
           order by x.first_id limit $2`,
    values: [afterId, limit, shard],
  })
  return rows.map(r => ({
    firstId: r.first_id,
    lastId: r.last_id,
    eventId: r.event_id,
    trigger: r.trigger_datetime_created,
    campaign: {
      restaurantId: r.restaurant_id,
      campaignId: r.adv_campaign_id,
      content: r.adv_campaign_content,
      owner: r.adv_campaign_owner,
      ownerContact: r.adv_campaign_owner_contact,
      start: r.adv_campaign_datetime_start,
      end: r.adv_campaign_datetime_end,
      created: r.datetime_created,
    },
  }))
}
