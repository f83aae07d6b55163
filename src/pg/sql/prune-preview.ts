import type { Db } from '../db.ts'

// prune --dry-run: what a run with the same cut-off and cursor would delete (the same conditions as
// prune-events and prune-rejects), counted in one read-only statement.
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
       (select count(*) from offerstream_rejects where id <= coalesce(($3::bigint[])[shard + 1], 0) and received_at < to_timestamp($1))::int as rejects`

export async function prunePreview(
  db: Db,
  o: { cutoff: number; pushCursors: number[]; dlqCursors: number[] },
): Promise<{ events: number; fanouts: number; rejects: number }> {
  const { rows } = await db.query<{ events: number; fanouts: number; rejects: number }>({
    name: 'offerstream_prune_preview',
    text: SQL,
    values: [o.cutoff, o.pushCursors, o.dlqCursors],
  })
  return rows[0]!
}
