import type { CampaignState } from '../../core/campaign-state.ts'
import type { CapRule } from '../../core/cap-history.ts'
import type { Db } from '../db.ts'
import { INSERT_PUSH } from './insert-push.ts'

const DONE: CampaignState = 'done'

/** What the caps decided for a chunk's fresh candidates (capped-candidates.ts). */
export interface CappedChunk {
  eventId: number
  campaignId: string
  /** Pairs to push, in client order. */
  admitted: string[]
  suppressed: Array<{ client: string; rule: CapRule }>
  /** The resume point (the last candidate read), null when there was none. */
  last: string | null
  /** The campaign read fewer candidates than the chunk's size: its fan-out is done. */
  done: boolean
}

// The second half of a capped chunk, in one statement like the uncapped one: the admitted pairs
// into subscribers_feedback (one contiguous insert, in client order) and their id range, the
// suppressed pairs into offerstream_suppressed, and the event's resume point and count. The
// campaign's row was locked FOR SHARE by the first half in this transaction, so the version pushed
// here is the one that was found live there.
const text = `
with v as (
  select * from offerstream_campaigns where adv_campaign_id = $5
), ins as (
  ${INSERT_PUSH}
  from unnest(string_to_array($2, ',')::uuid[]) c(client_id) cross join v cross join offerstream_events e
  where e.id = $1
  order by c.client_id
  returning id
), range as (
  insert into offerstream_fanouts (first_id, last_id, event_id, adv_campaign_id, row_count, shard)
  select min(id), max(id), $1, $5, count(*), (select shard from offerstream_events where id = $1)
  from ins having count(*) > 0
  returning row_count
), suppressed as (
  insert into offerstream_suppressed (event_id, adv_campaign_id, client_id, restaurant_id, rule, trigger_datetime_created,
    adv_campaign_datetime_end)
  select $1, e.adv_campaign_id, s.client_id, e.restaurant_id, s.rule, e.trigger_datetime_created, v.adv_campaign_datetime_end
  from unnest(string_to_array($3, ',')::uuid[], string_to_array($4, ',')) s(client_id, rule) cross join v cross join offerstream_events e
  where e.id = $1
  returning 1
), progress as (
  update offerstream_events set
    fanout_after = coalesce($6::uuid, fanout_after),
    pushed = pushed + (select count(*) from ins),
    status = case when $7::boolean then '${DONE}' else status end
  where id = $1
)
select (select coalesce(sum(row_count), 0) from range)::int as inserted,
       (select count(*) from suppressed)::int as suppressed`

/** Writes a capped chunk; returns the pushes and suppressions written. */
export async function writeCappedChunk(client: Db, c: CappedChunk): Promise<{ inserted: number; suppressed: number }> {
  const { rows } = await client.query<{ inserted: number; suppressed: number }>({
    name: 'offerstream_write_capped_chunk',
    text,
    values: [
      c.eventId,
      // Comma-separated texts, not arrays: node-postgres escapes every element of an array parameter.
      c.admitted.join(','),
      c.suppressed.map(s => s.client).join(','),
      c.suppressed.map(s => s.rule).join(','),
      c.campaignId,
      c.last,
      c.done,
    ],
  })
  return rows[0]!
}
