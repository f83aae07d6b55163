import { FEEDBACK_STAGES, type Feedback } from '../../core/feedback.ts'
import type { Db } from '../db.ts'

export type FeedbackSource = 'kafka' | 'http'

/**
 * recorded: stored and counted. duplicate: this event was stored before (redelivery, retry, or the
 * other door), nothing changed. unknown_push: no push of that campaign to that client exists,
 * nothing stored. outside_window: stored (the user did it) but dated after the campaign's end, so
 * neither the statistics nor subscribers_feedback.feedback count it.
 */
type FeedbackOutcome = 'recorded' | 'duplicate' | 'unknown_push' | 'outside_window'

export interface FeedbackResult {
  outcome: FeedbackOutcome
  reason?: string
}

// One statement, so it is atomic on a pool as well as inside a caller's transaction:
// 1. matched: each item's push (the subscribers_feedback row of that campaign and client), found
//    through subscribers_feedback_campaign_client;
// 2. ins: new events only; the unique event key makes a redelivered or retried one a no-op;
// 3. upd: the push row's feedback moves up to the furthest stage reached in the campaign window.
//    Rows are locked in id order first, so two concurrent batches cannot deadlock on them, and the
//    stage comparison is re-checked on the locked row, so it never moves down.
const SQL = `
with input as (
  select * from unnest($1::uuid[], $2::uuid[], $3::text[], $4::smallint[], $5::text[], $6::bigint[])
    with ordinality as t(campaign_id, client_id, feedback, rating, comment, created, ord)
), matched as materialized (
  select i.*, p.push_id, p.pushed_at, p.campaign_end, i.created <= p.campaign_end as in_window
  from input i cross join lateral (
    select s.id as push_id, s.trigger_datetime_created as pushed_at, s.adv_campaign_datetime_end as campaign_end
    from subscribers_feedback s where s.adv_campaign_id = i.campaign_id and s.client_id = i.client_id
    order by s.id limit 1) p
), ins as (
  insert into offerstream_feedback
    (adv_campaign_id, client_id, feedback, rating, comment, datetime_created, source, pushed_at, in_window)
  select campaign_id, client_id, feedback, rating, comment, created, $7::text, pushed_at, in_window from matched order by ord
  on conflict on constraint offerstream_feedback_event do nothing
  returning adv_campaign_id, client_id, feedback, datetime_created, in_window
), reached as (
  select m.push_id, max(array_position($8::text[], n.feedback)) as stage
  from ins n join matched m on m.campaign_id = n.adv_campaign_id and m.client_id = n.client_id
  where n.in_window group by m.push_id
), locked as (
  select s.id, r.stage from subscribers_feedback s join reached r on s.id = r.push_id order by s.id for update of s
), upd as (
  update subscribers_feedback s set feedback = ($8::text[])[l.stage] from locked l
  where s.id = l.id and coalesce(array_position($8::text[], s.feedback), 0) < l.stage
)
select i.ord::int as ord, m.push_id is not null as known, m.campaign_end, n.client_id is not null as inserted
from input i left join matched m on m.ord = i.ord
left join ins n on n.adv_campaign_id = i.campaign_id and n.client_id = i.client_id and n.feedback = i.feedback
  and n.datetime_created = i.created
order by i.ord`

interface Row {
  ord: number
  known: boolean
  campaign_end: number | null
  inserted: boolean
}

const keyOf = (f: Feedback) => `${f.adv_campaign_id}/${f.client_id}/${f.feedback}/${f.datetime_created}`.toLowerCase()

/**
 * Stores feedback events and moves each push's subscribers_feedback.feedback to the furthest stage
 * reached. Idempotent: storing the same items again changes nothing and reports them as duplicates.
 * Items must be valid (FeedbackSchema); the result has one entry per item, in order.
 */
export async function recordFeedback(db: Db, items: Feedback[], source: FeedbackSource): Promise<FeedbackResult[]> {
  if (items.length === 0) return []
  const { rows } = await db.query<Row>({
    name: 'offerstream_record_feedback',
    text: SQL,
    values: [
      items.map(f => f.adv_campaign_id),
      items.map(f => f.client_id),
      items.map(f => f.feedback),
      items.map(f => f.rating ?? null),
      items.map(f => f.comment ?? null),
      items.map(f => f.datetime_created),
      source,
      FEEDBACK_STAGES,
    ],
  })
  // The same event twice in one batch: the first is the one stored, the rest are duplicates of it.
  const claimed = new Set<string>()
  return items.map((f, i): FeedbackResult => {
    const r = rows[i]
    if (!r?.known) return { outcome: 'unknown_push', reason: `no push of campaign ${f.adv_campaign_id} to client ${f.client_id}` }
    const key = keyOf(f)
    if (!r.inserted || claimed.has(key)) return { outcome: 'duplicate', reason: 'this feedback was recorded before' }
    claimed.add(key)
    if (r.campaign_end !== null && f.datetime_created > r.campaign_end) {
      return {
        outcome: 'outside_window',
        reason: `datetime_created ${f.datetime_created} is after the campaign ended (${r.campaign_end}); stored, not counted`,
      }
    }
    return { outcome: 'recorded' }
  })
}
