import type { Campaign } from '../../core/campaign.ts'
import type { Db } from '../db.ts'

export interface RelayFanout {
  firstId: number
  lastId: number
  eventId: number
  trigger: number
  /** The event's input position: carried in the cursor record for a failover repair (relay-cursor.ts). */
  source: { topic: string; partition: number; offset: string }
  campaign: Campaign
  /** When the campaign became due (ms since the epoch): its arrival, or its start if it arrived early. For the latency histogram. */
  dueAtMs?: number
  /** The range's rows after the cursor, when they were read with it (see below). */
  rows?: RangeRows
}

/** Text length of a uuid (canonical form, as PostgreSQL prints it). */
export const UUID_TEXT = 36

/**
 * Rows of one fan-out range after a cursor, in id order: how many, the last one's id, and their
 * client ids as one string, UUID_TEXT characters each. One string per range instead of an array per
 * column: parsing the two arrays (postgres-array, character by character) was ~5 % of the service's
 * CPU in a 500,000-push profile, and the relay only needs the count and the last id besides the clients.
 */
export interface RangeRows {
  count: number
  lastId: number
  clients: string
}

/** Checks what PostgreSQL returned for one range, so a wrong length cannot shift every later push's bytes. */
export function rangeRows(count: number, lastId: number | null, clients: string | null): RangeRows {
  const text = clients ?? ''
  if (text.length !== count * UUID_TEXT) throw new Error(`relay read ${count} rows but ${text.length} characters of client ids`)
  return { count, lastId: lastId ?? 0, clients: text }
}

// The ranges, and in the same statement the rows of the leading ranges that fit in the batch (their
// sizes after the cursor add up to at most $4): a quiet or steady stream's whole read in one round
// trip, where it was one for the ranges plus one per range. A range past that budget (a big fan-out)
// is read afterwards, a batch's worth at a time (feedback-clients.ts). The budget test only reads
// values of the outer row, so PostgreSQL runs it once per range before touching the table.
const SQL = `
with f as (
  -- The fields the chunk pushed, read from its first row (issue 17: a chunk pushes the campaign's
  -- version current when it ran, which may not be its event's own), so both sinks carry the same
  -- version of every push; the trigger is the fan-out event's. The event's fields only if that row is gone.
  select x.first_id, x.last_id, x.event_id, e.trigger_datetime_created, e.restaurant_id, e.adv_campaign_id,
    coalesce(v.adv_campaign_content, e.adv_campaign_content) as adv_campaign_content,
    case when v.id is null then e.adv_campaign_owner else v.adv_campaign_owner end as adv_campaign_owner,
    case when v.id is null then e.adv_campaign_owner_contact else v.adv_campaign_owner_contact end as adv_campaign_owner_contact,
    coalesce(v.adv_campaign_datetime_start, e.adv_campaign_datetime_start) as adv_campaign_datetime_start,
    coalesce(v.adv_campaign_datetime_end, e.adv_campaign_datetime_end) as adv_campaign_datetime_end,
    coalesce(v.datetime_created, e.datetime_created) as datetime_created,
    greatest(extract(epoch from e.received_at) * 1000, e.adv_campaign_datetime_start * 1000.0)::float8 as due_at_ms,
    e.source_topic, e.source_partition, e.source_offset::text as source_offset
  from offerstream_fanouts x join offerstream_events e on e.id = x.event_id
  left join subscribers_feedback v on v.id = x.first_id
  where x.shard = $3
    and x.first_id >= coalesce((select max(first_id) from offerstream_fanouts where shard = $3 and first_id <= $1), 0)
    and x.last_id > $1
  order by x.first_id limit $2
), sized as (
  select f.*, sum(f.last_id - greatest($1, f.first_id - 1)) over (order by f.first_id) <= $4 as fits from f
)
select s.*, c.n, c.last_row, c.clients from sized s cross join lateral (
  select count(*)::int as n, max(r.id) as last_row, string_agg(r.client_id::text, '' order by r.id) as clients from (
    select id, client_id, adv_campaign_id from subscribers_feedback
    where s.fits and id > greatest($1, s.first_id - 1) and id <= s.last_id order by id offset 0
  ) r where r.adv_campaign_id = s.adv_campaign_id
) c
order by s.first_id`

/**
 * The shard's committed fan-out ranges not yet fully relayed (their last id is past the cursor), oldest first.
 * Ranges are disjoint and ordered, so the scan starts at the range holding the cursor: a primary-key
 * range scan, not a pass over every fan-out ever made.
 */
export async function relayFanouts(client: Db, shard: number, afterId: number, limit: number, rowBudget: number): Promise<RelayFanout[]> {
  const { rows } = await client.query({ name: 'offerstream_relay_fanouts', text: SQL, values: [afterId, limit, shard, rowBudget] })
  return rows.map(r => ({
    firstId: r.first_id,
    lastId: r.last_id,
    eventId: r.event_id,
    trigger: r.trigger_datetime_created,
    source: { topic: r.source_topic, partition: r.source_partition, offset: r.source_offset },
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
    dueAtMs: r.due_at_ms,
    ...(r.fits ? { rows: rangeRows(r.n, r.last_row, r.clients) } : {}),
  }))
}
