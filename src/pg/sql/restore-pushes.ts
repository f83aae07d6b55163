import type { Db } from '../db.ts'

// Failover repair (src/service/regression-repair.ts): rows Kafka proves were pushed but PostgreSQL lost.

const MISSING_SQL = `
select p.c::text as campaign, p.k::text as client from unnest($1::uuid[], $2::uuid[]) p(c, k)
where not exists (select 1 from subscribers_feedback f where f.adv_campaign_id = p.c and f.client_id = p.k)`

/** The (campaign, client) pairs among those given that subscribers_feedback lacks. */
export async function missingPushes(db: Db, campaigns: string[], clients: string[]): Promise<Array<{ campaign: string; client: string }>> {
  const { rows } = await db.query({ text: MISSING_SQL, values: [campaigns, clients] })
  return rows
}

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
// if the failover lost it, so that its redelivered record stays a no-op.
const EVENT_SQL = `
with found as (
  select id from offerstream_events where source_topic = $1 and source_partition = $2 and source_offset = $3::bigint
), made as (
  insert into offerstream_events (source_topic, source_partition, source_offset, restaurant_id, adv_campaign_id,
    adv_campaign_content, adv_campaign_owner, adv_campaign_owner_contact, adv_campaign_datetime_start,
    adv_campaign_datetime_end, datetime_created, status, trigger_datetime_created, shard)
  select $1, $2, $3::bigint, $4, $5, $6, $7, $8, $9, $10, $11, 'fanning', $12, $13 where not exists (select 1 from found)
  returning id
)
select id from found union all select id from made`

export async function ensureEvent(db: Db, e: RestoredEvent): Promise<number> {
  const { rows } = await db.query({
    text: EVENT_SQL,
    values: [e.topic, e.partition, e.offset, e.restaurantId, e.campaignId, e.content, e.owner, e.ownerContact, e.start, e.end, e.created, e.trigger, e.shard],
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

// The rows (ids from the caller, in client order like a fan-out chunk's), their range, and the
// event's fan-out progress moved past them: the writer resumes after the last restored client and
// counts them as pushed. greatest() ignores a null resume point.
const ROWS_SQL = `
with rows as (
  insert into subscribers_feedback (id, restaurant_id, adv_campaign_id, adv_campaign_content, adv_campaign_owner,
    adv_campaign_owner_contact, adv_campaign_datetime_start, adv_campaign_datetime_end, datetime_created,
    client_id, trigger_datetime_created, feedback)
  select u.id, e.restaurant_id, e.adv_campaign_id, e.adv_campaign_content, e.adv_campaign_owner,
    e.adv_campaign_owner_contact, e.adv_campaign_datetime_start, e.adv_campaign_datetime_end, e.datetime_created,
    u.client_id, $4, null
  from unnest($2::bigint[], $3::uuid[]) u(id, client_id) cross join offerstream_events e where e.id = $1
  returning id
), range as (
  insert into offerstream_fanouts (first_id, last_id, event_id, adv_campaign_id, row_count, shard)
  select min(r.id), max(r.id), $1, e.adv_campaign_id, count(*), e.shard
  from rows r cross join offerstream_events e where e.id = $1 group by e.adv_campaign_id, e.shard
)
update offerstream_events set
  fanout_after = greatest(fanout_after, $5::uuid),
  pushed = pushed + cardinality($2::bigint[]),
  status = case when status = 'pending' then 'fanning' else status end,
  trigger_datetime_created = coalesce(trigger_datetime_created, $4)
where id = $1`

/** Restores one event's lost pushes; ids and clients ascending, one id per client. */
export async function restoreRows(db: Db, eventId: number, ids: number[], clients: string[], trigger: number): Promise<void> {
  await db.query({ text: ROWS_SQL, values: [eventId, ids, clients, trigger, clients[clients.length - 1]] })
}

const REJECTS_SQL = `
insert into offerstream_rejects (id, source_topic, source_partition, source_offset, record_key, record_value, code, reason, shard)
select * from unnest($1::bigint[], $2::text[], $3::int[], $4::bigint[], $5::bytea[], $6::bytea[], $7::text[], $8::text[], $9::int[])
on conflict (source_topic, source_partition, source_offset) do nothing`

export interface RestoredReject {
  id: number
  topic: string
  partition: number
  offset: string
  key: Buffer | null
  value: Buffer | null
  code: string
  reason: string
  shard: number
}

/** Rejects already in the DLQ that PostgreSQL lost: back under their input positions, so redelivery stays a no-op. */
export async function restoreRejects(db: Db, rows: RestoredReject[]): Promise<void> {
  if (rows.length === 0) return
  const col = <T>(f: (r: RestoredReject) => T) => rows.map(f)
  await db.query({
    text: REJECTS_SQL,
    values: [col(r => r.id), col(r => r.topic), col(r => r.partition), col(r => r.offset), col(r => r.key), col(r => r.value), col(r => r.code), col(r => r.reason), col(r => r.shard)],
  })
}

const MISSING_REJECTS_SQL = `
select p.t as topic, p.p as partition, p.o::text as offset from unnest($1::text[], $2::int[], $3::bigint[]) p(t, p, o)
where not exists (select 1 from offerstream_rejects r where r.source_topic = p.t and r.source_partition = p.p and r.source_offset = p.o)`

/** The input positions among those given that offerstream_rejects lacks. */
export async function missingRejects(db: Db, positions: Array<{ topic: string; partition: number; offset: string }>): Promise<Set<string>> {
  const { rows } = await db.query({
    text: MISSING_REJECTS_SQL,
    values: [positions.map(p => p.topic), positions.map(p => p.partition), positions.map(p => p.offset)],
  })
  return new Set(rows.map(r => `${r.topic}\u0000${r.partition}\u0000${r.offset}`))
}

/** Records the decision taken for a shard: PostgreSQL now stands at its relay's cursor. */
export async function raiseShardFloor(db: Db, shard: number, push: number, dlq: number): Promise<void> {
  await db.query({
    text: `insert into offerstream_floors (kind, topic, part, position) values ('push', '', $1, $2), ('dlq', '', $1, $3)
           on conflict (kind, topic, part) do update set position = greatest(offerstream_floors.position, excluded.position)`,
    values: [shard, push, dlq],
  })
}
