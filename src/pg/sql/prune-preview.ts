import type { Db } from '../db.ts'

// prune --dry-run: what a run with the same cut-offs and cursor would delete (the same conditions as
// prune-events, prune-campaigns and prune-rejects), counted in one read-only statement.
const SQL = `
with ev as (
  select e.id, e.adv_campaign_id from offerstream_events e
  where e.status in ('done', 'expired', 'cancelled') and e.adv_campaign_datetime_end < $1
    and not exists (select 1 from offerstream_fanouts x
                    where x.adv_campaign_id = e.adv_campaign_id and x.event_id = e.id
                      and x.last_id > coalesce(($2::bigint[])[x.shard + 1], 0))
)
select (select count(*) from ev)::int as events,
       (select count(*) from offerstream_fanouts x join ev on x.adv_campaign_id = ev.adv_campaign_id and x.event_id = ev.id)::int as fanouts,
       (select count(*) from offerstream_campaigns c
        where (c.version_event_id is null or c.adv_campaign_datetime_end < $1)
          and (c.cancelled_at is null or c.cancelled_at < to_timestamp($4::bigint))
          and not exists (select 1 from offerstream_events e
                          where e.adv_campaign_id = c.adv_campaign_id and not exists (select 1 from ev where ev.id = e.id)))::int as campaigns,
       (select count(*) from offerstream_rejects where id <= coalesce(($3::bigint[])[shard + 1], 0) and received_at < to_timestamp($1))::int as rejects`

export async function prunePreview(
  db: Db,
  o: { cutoff: number; cancelCutoff: number; pushCursors: number[]; dlqCursors: number[] },
): Promise<{ events: number; fanouts: number; campaigns: number; rejects: number }> {
  const { rows } = await db.query<{ events: number; fanouts: number; campaigns: number; rejects: number }>({
    name: 'offerstream_prune_preview',
    text: SQL,
    values: [o.cutoff, o.pushCursors, o.dlqCursors, o.cancelCutoff],
  })
  return rows[0]!
}
