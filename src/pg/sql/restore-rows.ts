import type { Db } from '../db.ts'

// Failover repair (src/service/regression-repair.ts): rows Kafka proves were pushed but PostgreSQL lost.
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
