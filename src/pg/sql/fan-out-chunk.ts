import type { CampaignState } from '../../core/campaign-state.ts'
import type { Db } from '../db.ts'
import type { FanningEvent } from './fanning-events.ts'
import { INSERT_PUSH } from './insert-push.ts'

const DONE: CampaignState = 'done'

export interface ChunkResult {
  inserted: number
  /** Pairs the frequency caps kept from being pushed (recorded in offerstream_suppressed). */
  suppressed: number
  candidates: number
  finished: boolean
  /**
   * False when the campaign's row, as this chunk locked it, says it may not push now (cancelled, or
   * its current version's window is not open): nothing was written and the event's progress did not move.
   */
  live: boolean
  /** The campaign's row as locked: the caller decides the event's state from it when not live. */
  campaign: { start: number | null; end: number | null; cancelled: boolean }
}

/** Where this chunk runs in time: the activity rule's inputs (src/core/activity.ts). */
export interface ChunkClock {
  nowSeconds: number
  marginSeconds: number
}

// The campaign's row (offerstream_campaigns) is locked FOR SHARE first and everything pushed comes
// from it: a cancel or a new version is an UPDATE of that row, so it waits until the transactions
// holding it (this chunk's) commit, and a chunk that locks the row after such an UPDATE committed
// reads the row as it left it (READ COMMITTED re-reads a row it locks), even if its statement
// began before. Hence the hard line: no push of a campaign commits after its cancel. FOR KEY SHARE
// would not do: a plain UPDATE of non-key columns takes FOR NO KEY UPDATE, which does not conflict
// with it. "live" restates activity.ts's rule (start <= now <= end - margin) for the version just
// locked, so a window moved by an update binds this very chunk; the writer applies the rule itself
// to the row returned when the chunk was not live.
//
// Candidates: the restaurant's distinct clients after the resume point, in client order (an
// index-only scan of subscribers_restaurants_restaurant_client). When the campaign was fanned out
// before by another event (a re-send), clients it already reached are anti-joined away through the
// earlier fan-outs' id ranges (the "prior" CTE), so no per-row unique index is needed on subscribers_feedback.
/** The CTEs camp, live, cand and (for a re-send) prior: shared with the capped chunk (fan-out-capped-chunk.ts). */
export function candidatesSql(resume: boolean, resent: boolean): string {
  return `
with camp as (
  select * from offerstream_campaigns where adv_campaign_id = $4 for share
), live as (
  select * from camp
  where cancelled_at is null and adv_campaign_datetime_start <= $5 and $5 <= adv_campaign_datetime_end - $6
), cand as (
  select distinct s.client_id from subscribers_restaurants s
  where s.restaurant_id = $2 and exists (select 1 from live) ${resume ? 'and s.client_id > $7' : ''}
  order by s.client_id limit $3
)${
    resent
      ? `, prior as materialized (
  -- Clients the earlier fan-outs of this campaign reached, read once through their id ranges. A
  -- correlated NOT EXISTS here ran as a nested loop: ~110 ms per re-sent 1,000-client campaign, two
  -- thirds of all PostgreSQL time in the throughput bench. Materialized, it becomes a hash anti-join.
  -- The lateral "offset 0" keeps one primary-key range scan per earlier range; as a plain join the
  -- planner chose a scan of the whole feedback table, which grows with every campaign ever sent.
  select f.client_id from offerstream_fanouts x cross join lateral (
    select r.client_id from subscribers_feedback r
    where r.id between x.first_id and x.last_id and r.adv_campaign_id = x.adv_campaign_id offset 0) f
  where x.adv_campaign_id = (select adv_campaign_id from offerstream_events where id = $1) and x.event_id <> $1
  union all -- and the fan-outs \`offerstream prune\` moved out (src/pg/migrations/000003_retention.sql)
  select f.client_id from offerstream_pruned_fanouts x cross join lateral (
    select r.client_id from subscribers_feedback r
    where r.id between x.first_id and x.last_id and r.adv_campaign_id = x.adv_campaign_id offset 0) f
  where x.adv_campaign_id = (select adv_campaign_id from offerstream_events where id = $1)
  union all -- and the pairs a frequency cap suppressed: dropped, never retried (000006_frequency_cap.sql)
  select s.client_id from offerstream_suppressed s
  where s.adv_campaign_id = (select adv_campaign_id from offerstream_events where id = $1)
)`
      : ''
  }`
}

function chunkSql(resume: boolean, resent: boolean): string {
  return `${candidatesSql(resume, resent)}, ins as (
  ${INSERT_PUSH}
  from cand c cross join live v cross join offerstream_events e
  where e.id = $1 ${resent ? `and not exists (select 1 from prior p where p.client_id = c.client_id)` : ''}
  order by c.client_id
  returning id
), range as (
  insert into offerstream_fanouts (first_id, last_id, event_id, adv_campaign_id, row_count, shard)
  select min(id), max(id), $1, (select adv_campaign_id from offerstream_events where id = $1), count(*),
    (select shard from offerstream_events where id = $1)
  from ins having count(*) > 0
  returning row_count
), progress as (
  -- The event's resume point and count move in the same statement: one round trip per campaign
  -- where there were three (a count of earlier fan-outs, this insert, this update).
  update offerstream_events set
    fanout_after = coalesce((select client_id from cand order by client_id desc limit 1), fanout_after),
    pushed = pushed + (select count(*) from ins),
    status = case when (select count(*) from cand) < $3 and exists (select 1 from live) then '${DONE}' else status end
  where id = $1
)
select (select count(*) from cand)::int as candidates,
       (select coalesce(sum(row_count), 0) from range)::int as inserted,
       exists (select 1 from live) as live,
       (select adv_campaign_datetime_start from camp) as start, (select adv_campaign_datetime_end from camp) as "end",
       coalesce((select cancelled_at is not null from camp), true) as cancelled`
}

const SQL = new Map<string, string>()
function sqlFor(resume: boolean, resent: boolean): { name: string; text: string } {
  const name = `offerstream_fan_out_${resume}_${resent}`
  let text = SQL.get(name)
  if (text === undefined) {
    text = chunkSql(resume, resent)
    SQL.set(name, text)
  }
  return { name, text }
}

/**
 * Writes the next chunk of one campaign's fan-out into subscribers_feedback, records the id range,
 * and moves the event's resume point, in one statement. Must run inside the writer's transaction.
 * With a frequency cap on, the writer runs fanOutCappedChunk (fan-out-capped-chunk.ts) instead.
 */
export async function fanOutChunk(client: Db, event: FanningEvent, chunkSize: number, at: ChunkClock): Promise<ChunkResult> {
  const resume = event.fanoutAfter !== null
  const values: unknown[] = [event.id, event.restaurantId, chunkSize, event.campaignId, at.nowSeconds, at.marginSeconds]
  if (resume) values.push(event.fanoutAfter)
  const { rows } = await client.query<ChunkRow>({ ...sqlFor(resume, event.resent), values })
  return chunkResult(rows[0]!, chunkSize)
}

/** What a fan-out statement returns per campaign (also fan-out-first-chunks.ts). */
export interface ChunkRow {
  candidates: number
  inserted: number
  live: boolean
  start: number | null
  end: number | null
  cancelled: boolean
}

/** A chunk asked for chunkSize clients and got fewer: the campaign is done (the statement marked it so). */
export function chunkResult(r: ChunkRow, chunkSize: number): ChunkResult {
  return {
    inserted: r.inserted,
    suppressed: 0,
    candidates: r.candidates,
    finished: r.live && r.candidates < chunkSize,
    live: r.live,
    campaign: { start: r.start, end: r.end, cancelled: r.cancelled },
  }
}
