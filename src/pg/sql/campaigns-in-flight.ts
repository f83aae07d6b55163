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
       coalesce(c.adv_campaign_content, e.adv_campaign_content) as content,
       case when c.cancelled_at is not null then 'cancelled' else e.status end as status,
       coalesce(c.adv_campaign_datetime_start, e.adv_campaign_datetime_start) as start,
       coalesce(c.adv_campaign_datetime_end, e.adv_campaign_datetime_end) as "end", e.pushed,
       case when e.status in ('pending', 'fanning') then
         (select count(distinct s.client_id) from subscribers_restaurants s where s.restaurant_id = e.restaurant_id)
       end as subscribers
from (
  (select * from offerstream_events where status in ('pending', 'fanning') order by id desc limit $1)
  union all
  (select * from offerstream_events where status in ('done', 'expired', 'cancelled') order by id desc limit $2)
) e
-- The campaign's current version and cancel (issue 17) rather than this event's own fields.
left join offerstream_campaigns c using (adv_campaign_id)
order by e.id desc`

export async function campaignsInFlight(db: Db, opts: { maxInFlight: number; finished: number }): Promise<CampaignInFlight[]> {
  const { rows } = await db.query<CampaignInFlight>({
    name: 'offerstream_campaigns_in_flight',
    text: SQL,
    values: [opts.maxInFlight, opts.finished],
  })
  return rows
}
