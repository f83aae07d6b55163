import type { Campaign } from '../../core/campaign.ts'
import type { RuledState } from '../../core/campaign-state.ts'
import type { Db } from '../db.ts'

export interface EventRow {
  topic: string
  partition: number
  offset: string
  campaign: Campaign
  status: RuledState
  /** core/shard.ts shardOf(campaign id). */
  shard: number
  /** Set for events that start fanning out right away. */
  trigger: number | null
}

const SQL = `
insert into offerstream_events (
  source_topic, source_partition, source_offset, restaurant_id, adv_campaign_id, adv_campaign_content,
  adv_campaign_owner, adv_campaign_owner_contact, adv_campaign_datetime_start, adv_campaign_datetime_end,
  datetime_created, status, trigger_datetime_created, shard)
select * from unnest($1::text[], $2::int[], $3::bigint[], $4::uuid[], $5::uuid[], $6::text[], $7::text[],
  $8::text[], $9::bigint[], $10::bigint[], $11::bigint[], $12::text[], $13::bigint[], $14::int[])
on conflict (source_topic, source_partition, source_offset) do nothing
returning id, status`

// The same insert with the shards' notifications in the same statement, sent only when a row was
// new: a batch without rejects is then one autocommitted round trip instead of BEGIN, insert,
// notify and COMMIT. (The notify list is uncorrelated, so it runs once, as an init plan, and only if
// a row comes back; pg_notify is volatile, so the count cannot skip it.)
const SQL_NOTIFY = `
with ins as (${SQL}),
note as (select count(*) as n from (select pg_notify($15, p) from unnest($16::text[]) p where exists (select 1 from ins)) sent)
select id, status, (select n from note) as notified from ins`

/**
 * Stores accepted events; records already stored (a redelivery) are skipped. Returns the new ones.
 * With `notify`, the statement also sends those notifications on `channel` if any row was new.
 */
export async function insertEvents(
  client: Db,
  rows: EventRow[],
  notify?: { channel: string; payloads: string[] },
): Promise<Array<{ id: number; status: string }>> {
  if (rows.length === 0) return []
  const col = <T>(f: (r: EventRow) => T) => rows.map(f)
  const result = await client.query<{ id: number; status: string }>({
    name: notify ? 'offerstream_insert_events_notify' : 'offerstream_insert_events',
    text: notify ? SQL_NOTIFY : SQL,
    values: [
      col(r => r.topic),
      col(r => r.partition),
      col(r => r.offset),
      col(r => r.campaign.restaurantId),
      col(r => r.campaign.campaignId),
      col(r => r.campaign.content),
      col(r => r.campaign.owner),
      col(r => r.campaign.ownerContact),
      col(r => r.campaign.start),
      col(r => r.campaign.end),
      col(r => r.campaign.created),
      col(r => r.status),
      col(r => r.trigger),
      col(r => r.shard),
      ...(notify ? [notify.channel, notify.payloads] : []),
    ],
  })
  return result.rows
}
