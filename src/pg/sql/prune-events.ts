import type { Db } from '../db.ts'

interface PruneEventsResult {
  events: number
  fanouts: number
  /** Highest event id examined: the next batch starts after it. Null when nothing was left. */
  lastId: number | null
}

// One batch, one statement. Eligible: a finished event (done or expired: both final) whose campaign
// ended before the cut-off and whose fan-out ranges the relay has all published (last_id at or
// below its shard's committed cursor). Its ranges move to offerstream_pruned_fanouts, so a later re-send
// of the campaign still anti-joins against them; the range rows and the event go.
// Events are walked in id order from `after`, a primary-key range scan: each run reads the table
// once, however many batches it takes.
const SQL = `
with doomed as (
  select e.id, e.adv_campaign_id, e.adv_campaign_datetime_end from offerstream_events e
  where e.id > $1 and e.status in ('done', 'expired', 'cancelled') and e.adv_campaign_datetime_end < $2
    and not exists (select 1 from offerstream_fanouts x
                    where x.adv_campaign_id = e.adv_campaign_id and x.event_id = e.id
                      and x.last_id > coalesce(($3::bigint[])[x.shard + 1], 0))
  order by e.id limit $4
), gone as (
  delete from offerstream_fanouts x using doomed d
  where x.adv_campaign_id = d.adv_campaign_id and x.event_id = d.id
  returning x.adv_campaign_id, x.event_id, x.first_id, x.last_id
), kept as (
  insert into offerstream_pruned_fanouts (adv_campaign_id, first_id, last_id, campaign_end)
  select g.adv_campaign_id, min(g.first_id), max(g.last_id), min(d.adv_campaign_datetime_end)
  from gone g join doomed d on d.id = g.event_id
  group by g.adv_campaign_id, g.event_id
  returning 1
), ev as (
  delete from offerstream_events e using doomed d where e.id = d.id returning e.id
)
select (select count(*) from ev)::int as events, (select count(*) from gone)::int as fanouts,
       (select count(*) from kept)::int as kept, (select max(id) from doomed) as last_id`

/** Prunes up to `limit` finished, published events of campaigns that ended before `cutoff`. */
export async function pruneEvents(
  db: Db,
  o: { after: number; cutoff: number; pushCursors: number[]; limit: number },
): Promise<PruneEventsResult> {
  const { rows } = await db.query<{ events: number; fanouts: number; last_id: number | null }>({
    name: 'offerstream_prune_events',
    text: SQL,
    values: [o.after, o.cutoff, o.pushCursors, o.limit],
  })
  const r = rows[0]!
  return { events: r.events, fanouts: r.fanouts, lastId: r.last_id }
}
