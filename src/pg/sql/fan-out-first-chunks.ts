import type { CampaignState } from '../../core/campaign-state.ts'
import type { Db } from '../db.ts'
import { type ChunkClock, type ChunkResult, type ChunkRow, chunkResult } from './fan-out-chunk.ts'
import type { FanningEvent } from './fanning-events.ts'
import { INSERT_PUSH } from './insert-push.ts'

const DONE: CampaignState = 'done'

// The first chunks of many campaigns in one statement: fan-out-chunk.ts's statement once per
// campaign was 20,237 calls in a 20 s window at 1,000 ten-subscriber campaigns/s (0.40 ms each, 8.1 s
// of PostgreSQL's time, docs/scaling.md), for about ten rows each. Same rules as that statement, for
// campaigns with no resume point that no other event of theirs reached (the writer passes no others):
// each campaign's row locked FOR SHARE (already locked by the round in this transaction; taken again
// so the statement stands on its own), its window checked against now, up to $2 of its restaurant's
// clients in client order. Rows are inserted in (campaign's place in $1, client) order, so each
// campaign's ids form one range, disjoint from the others' (the relay reads ranges in id order).
// Each range is recorded under its event's shard: the campaigns may be of several shards (a joint
// ingest transaction's, which holds all their locks).
const SQL = `
with req as (
  select r.event_id, r.ord, e.shard, e.restaurant_id, e.adv_campaign_id, e.trigger_datetime_created
  from unnest($1::bigint[]) with ordinality as r(event_id, ord)
  -- One primary-key lookup per event, whatever the table's size when the plan was cached: a
  -- generic plan made while the table was small (a new deployment's first minute, before
  -- autovacuum's first ANALYZE) scanned all of it at every call.
  cross join lateral (select * from offerstream_events x where x.id = r.event_id offset 0) e
), camp as (
  -- In campaign id order, as everywhere (no deadlock), one lookup each (as req).
  select c.* from (select distinct adv_campaign_id from req order by 1) q
  cross join lateral (select * from offerstream_campaigns x where x.adv_campaign_id = q.adv_campaign_id for share) c
), live as (
  select * from camp
  where cancelled_at is null and adv_campaign_datetime_start <= $3 and $3 <= adv_campaign_datetime_end - $4
), cand as (
  select r.ord, r.event_id, x.client_id from req r cross join lateral (
    select distinct s.client_id from subscribers_restaurants s
    where s.restaurant_id = r.restaurant_id and exists (select 1 from live l where l.adv_campaign_id = r.adv_campaign_id)
    order by s.client_id limit $2
  ) x
), ins as (
  ${INSERT_PUSH}
  -- The events' fields as req read them: no second look at offerstream_events.
  from cand c join req e using (ord) join live v on v.adv_campaign_id = e.adv_campaign_id
  order by c.ord, c.client_id
  returning id, adv_campaign_id
), range as (
  insert into offerstream_fanouts (first_id, last_id, event_id, adv_campaign_id, row_count, shard)
  select min(i.id), max(i.id), r.event_id, r.adv_campaign_id, count(*), r.shard
  from ins i join req r using (adv_campaign_id) group by r.event_id, r.adv_campaign_id, r.shard
  returning event_id, row_count
), seen as (
  -- Every live campaign, those with no clients too: they are done as well.
  select r.ord, count(c.client_id)::int as n,
    (array_agg(c.client_id order by c.client_id desc) filter (where c.client_id is not null))[1] as last_client
  from req r join live l using (adv_campaign_id) left join cand c using (ord) group by r.ord
), progress as (
  update offerstream_events e set
    fanout_after = coalesce(s.last_client, e.fanout_after),
    pushed = e.pushed + coalesce((select sum(row_count) from range g where g.event_id = e.id), 0),
    status = case when s.n < $2 then '${DONE}' else e.status end
  from req r join seen s using (ord)
  where e.id = r.event_id
)
select coalesce(s.n, 0) as candidates, coalesce(g.row_count, 0)::int as inserted,
  l.adv_campaign_id is not null as live,
  c.adv_campaign_datetime_start as start, c.adv_campaign_datetime_end as "end",
  coalesce(c.cancelled_at is not null, true) as cancelled
from req r left join seen s using (ord) left join range g using (event_id)
  left join live l on l.adv_campaign_id = r.adv_campaign_id left join camp c on c.adv_campaign_id = r.adv_campaign_id
order by r.ord`

/**
 * The first chunk (up to `chunkSize` clients each) of every campaign given, in one statement, in a
 * transaction holding the locks of their shards: results in the order given. Only for campaigns
 * whose fanoutAfter is null and that are not `resent`; fanOutChunk covers the rest, and the
 * frequency caps' path.
 */
export async function fanOutFirstChunks(
  client: Db,
  events: readonly FanningEvent[],
  chunkSize: number,
  at: ChunkClock,
): Promise<ChunkResult[]> {
  for (const e of events)
    if (e.fanoutAfter !== null || e.resent) throw new Error(`event ${e.id} is not a first chunk of a campaign sent once`)
  const { rows } = await client.query<ChunkRow>({
    name: 'offerstream_fan_out_first_chunks',
    text: SQL,
    values: [events.map(e => e.id), chunkSize, at.nowSeconds, at.marginSeconds],
  })
  if (rows.length !== events.length) throw new Error(`first chunks of ${events.length} campaigns returned ${rows.length} rows`)
  return rows.map(r => chunkResult(r, chunkSize))
}
