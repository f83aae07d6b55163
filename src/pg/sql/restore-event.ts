import type { Db } from '../db.ts'

// Failover repair (src/service/regression-repair.ts): rows Kafka proves were pushed but PostgreSQL lost.
export interface RestoredEvent {
  topic: string
  partition: number
  offset: string
  restaurantId: string
  campaignId: string
  content: string
  owner: string | null
  ownerContact: string | null
  start: number
  end: number
  created: number
  trigger: number
  shard: number
}

// The event under its input position, recreated (fanning, as it was when its rows were pushed)
// if the failover lost it, so that its redelivered record stays a no-op; and its campaign's row.
const EVENT_SQL = `
with found as (
  select id from offerstream_events where source_topic = $1 and source_partition = $2 and source_offset = $3::bigint
), made as (
  insert into offerstream_events (source_topic, source_partition, source_offset, restaurant_id, adv_campaign_id,
    adv_campaign_content, adv_campaign_owner, adv_campaign_owner_contact, adv_campaign_datetime_start,
    adv_campaign_datetime_end, datetime_created, status, trigger_datetime_created, shard)
  select $1, $2, $3::bigint, $4, $5, $6, $7, $8, $9, $10, $11, 'fanning', $12, $13 where not exists (select 1 from found)
  returning id
), campaign as (
  -- The campaign's row (migration 000005) may be lost with it: the fan-out pushes nothing without
  -- one. The version restored is the one its pushes carried; a surviving row is left as it is.
  insert into offerstream_campaigns (adv_campaign_id, restaurant_id, version_event_id, adv_campaign_content,
    adv_campaign_owner, adv_campaign_owner_contact, adv_campaign_datetime_start, adv_campaign_datetime_end,
    datetime_created, versions)
  select $5, $4, id, $6, $7, $8, $9, $10, $11, 1 from made
  on conflict (adv_campaign_id) do nothing
)
select id from found union all select id from made`

export async function ensureEvent(db: Db, e: RestoredEvent): Promise<number> {
  const { rows } = await db.query({
    text: EVENT_SQL,
    values: [
      e.topic,
      e.partition,
      e.offset,
      e.restaurantId,
      e.campaignId,
      e.content,
      e.owner,
      e.ownerContact,
      e.start,
      e.end,
      e.created,
      e.trigger,
      e.shard,
    ],
  })
  return Number(rows[0].id)
}

/** A surviving event of the campaign whose fan-out started at `trigger` (cursors written before events were recorded). */
export async function findEvent(db: Db, campaignId: string, trigger: number, shard: number): Promise<number | null> {
  const { rows } = await db.query({
    text: 'select id from offerstream_events where adv_campaign_id = $1 and trigger_datetime_created = $2 and shard = $3 order by id limit 1',
    values: [campaignId, trigger, shard],
  })
  return rows[0] ? Number(rows[0].id) : null
}
