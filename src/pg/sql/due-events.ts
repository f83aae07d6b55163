import type { CampaignState } from '../../core/campaign-state.ts'
import type { Db } from '../db.ts'

const PENDING: CampaignState = 'pending'

/** The shard's pending campaigns whose start has come, locked for this transaction; core decides what they become. */
export async function dueEvents(client: Db, shard: number, nowSeconds: number): Promise<Array<{ id: number; start: number; end: number }>> {
  const { rows } = await client.query<{ id: number; start: number; end: number }>({
    name: 'offerstream_due_events',
    text: `select id, adv_campaign_datetime_start as start, adv_campaign_datetime_end as "end" from offerstream_events
           where shard = $2 and status = '${PENDING}' and adv_campaign_datetime_start <= $1 order by id for update`,
    values: [nowSeconds, shard],
  })
  return rows
}
