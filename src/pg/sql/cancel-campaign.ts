import type pg from 'pg'
import { withTransaction } from '../transaction.ts'

export type CancelResult =
  | {
      outcome: 'cancelled' | 'already_cancelled'
      campaignId: string
      restaurantId: string
      cancelledAt: string
      /** No record of the campaign was received yet: when one comes, it will never fan out. */
      seen: boolean
      /** Pushes committed before the cancel: they stay, and are published. */
      pushedBeforeCancel: number
      /** The restaurant's subscribers the campaign did not reach and now never will. */
      notPushed: number
    }
  | { outcome: 'restaurant_mismatch'; campaignId: string; restaurantId: string }

// The same row update as a cancel from Kafka (insert-events.ts): it waits for the fan-out chunks
// holding the row FOR SHARE to commit, and every chunk after it sees it (fan-out-chunk.ts).
const CANCEL = `
insert into offerstream_campaigns as c (adv_campaign_id, restaurant_id, cancelled_at, cancel_source)
values ($1, $2, now(), 'http')
on conflict (adv_campaign_id) do update set
  cancelled_at = coalesce(c.cancelled_at, excluded.cancelled_at),
  cancel_source = case when c.cancelled_at is null then excluded.cancel_source else c.cancel_source end
where c.restaurant_id = excluded.restaurant_id
returning to_json(cancelled_at) #>> '{}' as "cancelledAt", cancelled_at = now() as fresh, version_event_id is not null as seen`

// Read by a statement after the cancel's, in its transaction: every chunk that pushed before the
// cancel has committed (the cancel waited for it), and none can push after it.
const COUNTS = `
select coalesce((select sum(row_count) from offerstream_fanouts where adv_campaign_id = $1), 0)::bigint as pushed,
  (select count(distinct client_id) from subscribers_restaurants where restaurant_id = $2)::bigint as audience`

/** Cancels a campaign (kept even when none of its records was seen yet) and says what it stopped. */
export function cancelCampaign(pool: pg.Pool, campaignId: string, restaurantId: string): Promise<CancelResult> {
  return withTransaction(pool, async client => {
    const { rows } = await client.query<{ cancelledAt: string; fresh: boolean; seen: boolean }>({
      name: 'offerstream_cancel_campaign',
      text: CANCEL,
      values: [campaignId, restaurantId],
    })
    const row = rows[0]
    if (!row) {
      const owner = await client.query<{ restaurant_id: string }>(
        'select restaurant_id from offerstream_campaigns where adv_campaign_id = $1',
        [campaignId],
      )
      return { outcome: 'restaurant_mismatch', campaignId, restaurantId: owner.rows[0]?.restaurant_id ?? '' }
    }
    const counts = await client.query<{ pushed: string; audience: string }>({
      name: 'offerstream_cancel_counts',
      text: COUNTS,
      values: [campaignId, restaurantId],
    })
    const pushed = Number(counts.rows[0]?.pushed ?? 0)
    const audience = Number(counts.rows[0]?.audience ?? 0)
    return {
      outcome: row.fresh ? 'cancelled' : 'already_cancelled',
      campaignId,
      restaurantId,
      cancelledAt: row.cancelledAt,
      seen: row.seen,
      pushedBeforeCancel: pushed,
      notPushed: Math.max(0, audience - pushed),
    }
  })
}
