import type { Db } from '../db.ts'

interface CampaignInFlight {
  eventId: number
  campaignId: string
  restaurantId: string
  content: string
  status: 'pending' | 'fanning' | 'done' | 'expired' | 'cancelled'
  start: number
  end: number
  pushed: number
  /** Distinct subscribers of the restaurant now; only for pending/fanning (a done campaign's count could be huge and stale). */
  subscribers: number | null
}

// Every pending or fanning campaign (few at a time) plus the latest finished ones. The subscriber
// count is an index-only scan of subscribers_restaurants (restaurant_id, client_id), run only for
// campaigns still in flight.
const SQL = `
select e.id as "eventId", e.adv_campaign_id as "campaignId", e.restaurant_id as "restaurantId",
       e.adv_campaign_content as content, e.status, e.adv_campaign_datetime_start as start,
       e.adv_campaign_datetime_end as "end", e.pushed,
       case when e.status in ('pending', 'fanning') then
         (select count(distinct s.client_id) from subscribers_restaurants s where s.restaurant_id = e.restaurant_id)
       end as subscribers
from (
  (select * from offerstream_events where status in ('pending', 'fanning') order by id desc limit $1)
  union all
  (select * from offerstream_events where status in ('done', 'expired', 'cancelled') order by id desc limit $2)
) e
order by e.id desc`

export async function campaignsInFlight(db: Db, opts: { maxInFlight: number; finished: number }): Promise<CampaignInFlight[]> {
  const { rows } = await db.query<CampaignInFlight>({
    name: 'offerstream_campaigns_in_flight',
    text: SQL,
    values: [opts.maxInFlight, opts.finished],
  })
  return rows
}
