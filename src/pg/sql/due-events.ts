import type { CampaignState } from '../../core/campaign-state.ts'
import type { Db } from '../db.ts'

const PENDING: CampaignState = 'pending'

export interface DueEvent {
  id: number
  start: number | null
  end: number | null
  cancelled: boolean
}

/**
 * The shard's pending campaigns whose start (of the campaign's current version) has come, locked for
 * this transaction, with the version's window and the cancel; core decides what they become.
 */
export async function dueEvents(client: Db, shard: number, nowSeconds: number): Promise<DueEvent[]> {
  const { rows } = await client.query<DueEvent>({
    name: 'offerstream_due_events',
    text: `select e.id, c.adv_campaign_datetime_start as start, c.adv_campaign_datetime_end as "end",
             c.cancelled_at is not null as cancelled
           from offerstream_events e join offerstream_campaigns c using (adv_campaign_id)
           where e.shard = $2 and e.status = '${PENDING}' and (c.adv_campaign_datetime_start <= $1 or c.cancelled_at is not null)
           order by e.id for update of e`,
    values: [nowSeconds, shard],
  })
  return rows
}
