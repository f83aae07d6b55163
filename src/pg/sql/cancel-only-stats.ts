import { type CampaignStats, campaignStats as withRates } from '../../core/campaign-stats.ts'
import type { Db } from '../db.ts'

// A campaign of which only a cancel was received: its row in offerstream_campaigns has no version
// (version_event_id null) and it has no event, so campaign-stats.ts finds nothing. It is known and
// cancelled, and it never fanned out: no event means no push, no suppressed pair and no feedback.
// A row that has a version but no event left (its events pruned) is not answered here: its pushes
// may have been pruned too, and a 0 would be wrong.
const SQL = `
select restaurant_id, to_json(cancelled_at) #>> '{}' as cancelled_at from offerstream_campaigns
where adv_campaign_id = $1 and version_event_id is null and cancelled_at is not null`

/** The statistics of a campaign only a cancel of which was received, or null if there is no such cancel. */
export async function cancelOnlyStats(db: Db, campaignId: string): Promise<CampaignStats | null> {
  const { rows } = await db.query<{ restaurant_id: string; cancelled_at: string }>({
    name: 'offerstream_cancel_only_stats',
    text: SQL,
    values: [campaignId],
  })
  const r = rows[0]
  if (!r) return null
  return withRates({
    campaignId,
    restaurantId: r.restaurant_id,
    content: null,
    start: null,
    end: null,
    version: null,
    versions: 0,
    cancelledAt: r.cancelled_at,
    status: 'cancelled',
    pushed: 0,
    suppressed: 0,
    feedback: {},
    responded: 0,
    firstFeedbackSeconds: { p50: null, avg: null },
  })
}
