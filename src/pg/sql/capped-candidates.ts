import type { Db } from '../db.ts'
import type { ChunkClock } from './fan-out-chunk.ts'
import { candidatesSql } from './fan-out-chunk.ts'
import type { FanningEvent } from './fanning-events.ts'

/** The first half of a capped chunk: who it would reach, before the caps decide (write-capped-chunk.ts writes the rest). */
export interface CappedCandidates {
  /** Candidates the chunk read (for the resume point and "done"), reached before or not. */
  candidates: number
  /** The last candidate in client order: the resume point once the chunk is written. */
  last: string | null
  /** Candidates not reached by an earlier fan-out of the campaign: the ones the caps decide, in client order. */
  fresh: string[]
  /** The push's trigger time (the event's), which the caps compare. */
  at: number
  live: boolean
  campaign: { start: number | null; end: number | null; cancelled: boolean }
}

// The same camp/live/cand/prior CTEs as the uncapped chunk, so the campaign's row is locked FOR
// SHARE here and stays locked to the commit: the write that follows in the same transaction pushes
// the version read here, and a cancel still cannot slip between the two.
function sql(resume: boolean, resent: boolean): string {
  return `${candidatesSql(resume, resent)}
select (select count(*) from cand)::int as candidates,
       (select client_id from cand order by client_id desc limit 1)::text as last,
       -- One comma-separated text, not a uuid[]: node-postgres's array parser cost more than the statement.
       (select string_agg(c.client_id::text, ',' order by c.client_id) from cand c
        ${resent ? 'where not exists (select 1 from prior p where p.client_id = c.client_id)' : ''}) as fresh,
       (select trigger_datetime_created from offerstream_events where id = $1) as at,
       exists (select 1 from live) as live,
       (select adv_campaign_datetime_start from camp) as start, (select adv_campaign_datetime_end from camp) as "end",
       coalesce((select cancelled_at is not null from camp), true) as cancelled`
}

const SQL = new Map<string, string>()

/** Reads the chunk's candidates; in a writer transaction that passed the caps' gate (src/pg/cap-gate.ts). */
export async function cappedCandidates(client: Db, event: FanningEvent, chunkSize: number, now: ChunkClock): Promise<CappedCandidates> {
  const resume = event.fanoutAfter !== null
  const name = `offerstream_capped_candidates_${resume}_${event.resent}`
  let text = SQL.get(name)
  if (text === undefined) {
    text = sql(resume, event.resent)
    SQL.set(name, text)
  }
  const values: unknown[] = [event.id, event.restaurantId, chunkSize, event.campaignId, now.nowSeconds, now.marginSeconds]
  if (resume) values.push(event.fanoutAfter)
  const { rows } = await client.query<{
    candidates: number
    last: string | null
    fresh: string | null
    at: number
    live: boolean
    start: number | null
    end: number | null
    cancelled: boolean
  }>({ name, text, values })
  const r = rows[0]!
  return {
    candidates: r.candidates,
    last: r.last,
    fresh: r.fresh === null ? [] : r.fresh.split(','),
    at: r.at,
    live: r.live,
    campaign: { start: r.start, end: r.end, cancelled: r.cancelled },
  }
}
