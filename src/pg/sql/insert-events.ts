import type { Campaign, CancelOrder } from '../../core/campaign.ts'
import type { RuledState } from '../../core/campaign-state.ts'
import type { Db } from '../db.ts'

interface SourceRecord {
  topic: string
  partition: number
  offset: string
  /** The record's bytes, kept for the DLQ in case its restaurant is not the campaign's. */
  key?: Buffer | null
  value?: Buffer | null
}

export interface EventRow extends SourceRecord {
  campaign: Campaign
  status: RuledState
  /** core/shard.ts shardOf(campaign id). */
  shard: number
  /** Set for events that start fanning out right away. */
  trigger: number | null
}

export interface CancelRow extends SourceRecord {
  cancel: CancelOrder
}

// The winning version: highest datetime_created, ties to the later stored (larger event id). A row
// created by a cancel has no version yet, so any version beats it.
const NEWER = `(excluded.version_event_id is not null and (c.version_event_id is null
  or (excluded.datetime_created, excluded.version_event_id) > (c.datetime_created, c.version_event_id)))`
const VERSION_COLUMNS = [
  'version_event_id',
  'adv_campaign_content',
  'adv_campaign_owner',
  'adv_campaign_owner_contact',
  'adv_campaign_datetime_start',
  'adv_campaign_datetime_end',
  'datetime_created',
]

// One statement: the new records (a redelivered one is skipped by its input position) update their
// campaigns' rows (offerstream_campaigns, migration 000005) and only then are stored as events, so
// a record whose restaurant is not its campaign's touches nothing and comes back as a mismatch.
// The ON CONFLICT update sees the row as last committed (waiting for a fan-out chunk that holds it
// FOR SHARE), so two instances storing records of one campaign at once both count. Rows are
// locked in campaign id order, as the writer's round locks them (fanning-events.ts): no deadlock.
// The caller gives each campaign id one restaurant per call (core/campaign-rounds.ts).
const SQL = `
with r as (
  select * from unnest($1::text[], $2::int[], $3::bigint[], $4::uuid[], $5::uuid[], $6::text[], $7::text[],
    $8::text[], $9::bigint[], $10::bigint[], $11::bigint[], $12::text[], $13::bigint[], $14::int[]) with ordinality
    as r(topic, part, off, restaurant_id, campaign_id, content, owner, contact, start_s, end_s, created, status, trig, shard, ord)
), v as materialized (
  -- The event id is drawn here: the version rule breaks ties by it, and the event is stored after its campaign row.
  select r.*, nextval(pg_get_serial_sequence('offerstream_events', 'id')) as id from r
  -- A lookup per record in the input position's unique index: OFFSET 0 keeps the planner from
  -- turning this into an anti-join, whose plan cached while the table was small scanned all of it
  -- at every call (docs/scaling.md, Ninth round; migration 000009).
  where not exists (select 1 from offerstream_events e
    where e.source_topic = r.topic and e.source_partition = r.part and e.source_offset = r.off offset 0)
  order by r.ord
), k as (
  select * from unnest($15::uuid[], $16::uuid[]) with ordinality as k(campaign_id, restaurant_id, ord)
), w as (
  select distinct on (campaign_id) *, count(*) over (partition by campaign_id) as versions
  from v order by campaign_id, created desc, id desc
), agg as (
  select coalesce(w.campaign_id, kk.campaign_id) as campaign_id, coalesce(w.restaurant_id, kk.restaurant_id) as restaurant_id,
    w.id, w.content, w.owner, w.contact, w.start_s, w.end_s, w.created, coalesce(w.versions, 0)::int as versions,
    case when kk.campaign_id is not null then now() end as cancelled_at
  from w full join (select distinct campaign_id, restaurant_id from k) kk on kk.campaign_id = w.campaign_id
), camp as (
  insert into offerstream_campaigns as c (adv_campaign_id, restaurant_id, version_event_id, adv_campaign_content,
    adv_campaign_owner, adv_campaign_owner_contact, adv_campaign_datetime_start, adv_campaign_datetime_end,
    datetime_created, versions, cancelled_at, cancel_source)
  select campaign_id, restaurant_id, id, content, owner, contact, start_s, end_s, created, versions, cancelled_at,
    case when cancelled_at is not null then 'kafka' end
  from agg order by campaign_id
  on conflict (adv_campaign_id) do update set
    ${VERSION_COLUMNS.map(col => `${col} = case when ${NEWER} then excluded.${col} else c.${col} end`).join(',\n    ')},
    versions = c.versions + excluded.versions,
    cancelled_at = coalesce(c.cancelled_at, excluded.cancelled_at),
    cancel_source = case when c.cancelled_at is null then excluded.cancel_source else c.cancel_source end
  where c.restaurant_id = excluded.restaurant_id
  returning c.adv_campaign_id
), ins as (
  insert into offerstream_events (id, source_topic, source_partition, source_offset, restaurant_id, adv_campaign_id,
    adv_campaign_content, adv_campaign_owner, adv_campaign_owner_contact, adv_campaign_datetime_start,
    adv_campaign_datetime_end, datetime_created, status, trigger_datetime_created, shard)
  select id, topic, part, off, restaurant_id, campaign_id, content, owner, contact, start_s, end_s, created, status, trig, shard
  from v where campaign_id in (select adv_campaign_id from camp)
  on conflict (source_topic, source_partition, source_offset) do nothing
  returning id, status
)`

const RESULT = `
select 'event' as kind, id, status, null::int as ord NOTE from ins
union all select 'event_mismatch', null, null, v.ord::int NONE from v where v.campaign_id not in (select adv_campaign_id from camp)
union all select case when k.campaign_id in (select adv_campaign_id from camp) then 'cancel' else 'cancel_mismatch' end,
  null, null, k.ord::int NONE from k`

const PLAIN = `${SQL}${RESULT.replace(' NOTE', '').replaceAll(' NONE', '')}`

// The same with the shards' notifications in the same statement, sent only when an event was new:
// a batch without rejects is then one autocommitted round trip instead of BEGIN, insert, notify and
// COMMIT. (The notify list is uncorrelated, so it runs once, as an init plan, and only if a row
// comes back; pg_notify is volatile, so the count cannot skip it.)
const WITH_NOTIFY = `${SQL}, note as (select count(*) as n from (select pg_notify($17, p) from unnest($18::text[]) p
  where exists (select 1 from ins)) sent)
${RESULT.replace(' NOTE', ', (select n from note) as notified').replaceAll(' NONE', ', null')}`

export interface StoredRecords {
  /** The events stored now (a redelivered record is not among them). */
  rows: Array<{ id: number; status: string }>
  /** Records naming another restaurant than their campaign's: nothing was stored or changed for them. */
  mismatched: Array<EventRow | CancelRow>
  /** Cancels applied (a repeated cancel counts again; it changes nothing). */
  cancels: number
}

/**
 * Stores campaign records and cancels: each new record updates its campaign's row (the winning
 * version, the cancel) and a campaign record becomes an event. With `notify`, the statement also
 * sends those notifications on `channel` if any event was new.
 */
export async function storeCampaignRecords(
  client: Db,
  rows: EventRow[],
  cancels: CancelRow[],
  notify?: { channel: string; payloads: string[] },
): Promise<StoredRecords> {
  if (rows.length === 0 && cancels.length === 0) return { rows: [], mismatched: [], cancels: 0 }
  const col = <T>(f: (r: EventRow) => T) => rows.map(f)
  const result = await client.query<{ kind: string; id: number; status: string; ord: number }>({
    name: notify ? 'offerstream_store_records_notify' : 'offerstream_store_records',
    text: notify ? WITH_NOTIFY : PLAIN,
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
      cancels.map(c => c.cancel.campaignId),
      cancels.map(c => c.cancel.restaurantId),
      ...(notify ? [notify.channel, notify.payloads] : []),
    ],
  })
  const out: StoredRecords = { rows: [], mismatched: [], cancels: 0 }
  for (const r of result.rows) {
    if (r.kind === 'event') out.rows.push({ id: r.id, status: r.status })
    else if (r.kind === 'event_mismatch') out.mismatched.push(rows[r.ord - 1]!)
    else if (r.kind === 'cancel_mismatch') out.mismatched.push(cancels[r.ord - 1]!)
    else out.cancels++
  }
  return out
}

/**
 * Stores accepted events (no cancels); records already stored (a redelivery) are skipped. Returns the new ones.
 * @internal also used by tests
 */
export async function insertEvents(client: Db, rows: EventRow[]): Promise<Array<{ id: number; status: string }>> {
  return (await storeCampaignRecords(client, rows, [])).rows
}
