import type { CampaignStats } from '../../core/campaign-stats.ts'
import type { Db } from '../db.ts'
import { statsSql, toStats } from './campaign-stats.ts'

// "Since" means the campaign was still running at or after that moment: its end is not earlier.
const ONE = statsSql('restaurant_id = $1 and adv_campaign_datetime_end >= $2')
const ALL = statsSql('adv_campaign_datetime_end >= $1')

/** Statistics of every campaign (of one restaurant, or of all) that ran at some point since sinceSeconds, newest first. */
export async function restaurantCampaigns(db: Db, opts: { restaurantId?: string; sinceSeconds: number }): Promise<CampaignStats[]> {
  const { rows } = opts.restaurantId
    ? await db.query({ name: 'offerstream_restaurant_campaigns', text: ONE, values: [opts.restaurantId, opts.sinceSeconds] })
    : await db.query({ name: 'offerstream_all_campaigns', text: ALL, values: [opts.sinceSeconds] })
  return rows.map(toStats)
}
