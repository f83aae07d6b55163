import type { Db } from '../db.ts'

// prune --feedback-too: the subscribers_feedback rows of pruned fan-outs whose campaign ended
// before the cut-off (prune-events has already moved every prunable range to
// offerstream_pruned_fanouts). Ranges are taken lowest first until about `limit` ids, their rows
// deleted by primary-key range, and the ranges go in the same statement: the next batch never
// re-reads an emptied range, and a crash leaves every range either whole or gone with its rows.
// A campaign's offerstream_feedback (what users did with the pushes) goes with its last range, so
// the statistics of a campaign that was re-sent and is still live are never cut short.
const SQL = `
with first as (
  select adv_campaign_id, first_id, last_id from offerstream_pruned_fanouts
  where campaign_end < $1 order by first_id limit $2
), pick as (
  select * from (select *, sum(last_id - first_id + 1) over (order by first_id) as upto from first) w
  where upto - (last_id - first_id + 1) < $2
), gone as (
  delete from subscribers_feedback f using pick r
  where f.id between r.first_id and r.last_id and f.adv_campaign_id = r.adv_campaign_id
  returning 1
), ranges as (
  delete from offerstream_pruned_fanouts p using pick r
  where p.adv_campaign_id = r.adv_campaign_id and p.first_id = r.first_id returning 1
), done as (
  -- Campaigns left with no range after this statement (its own deletes are not visible inside it).
  select distinct c.adv_campaign_id from pick c
  where not exists (select 1 from offerstream_fanouts x where x.adv_campaign_id = c.adv_campaign_id)
    and not exists (select 1 from offerstream_pruned_fanouts p where p.adv_campaign_id = c.adv_campaign_id
      and not exists (select 1 from pick k where k.adv_campaign_id = p.adv_campaign_id and k.first_id = p.first_id))
), answers as (
  delete from offerstream_feedback o using done d where o.adv_campaign_id = d.adv_campaign_id returning 1
)
select (select count(*) from gone)::int as rows, (select count(*) from ranges)::int as ranges,
       (select count(*) from answers)::int as answers`

interface PruneFeedbackResult {
  /** subscribers_feedback rows deleted. */
  rows: number
  ranges: number
  /** offerstream_feedback rows deleted. */
  answers: number
}

/** Deletes the feedback rows of about `limit` ids' worth of old pruned ranges, and those ranges. */
export async function pruneFeedbackRows(db: Db, o: { cutoff: number; limit: number }): Promise<PruneFeedbackResult> {
  const { rows } = await db.query<PruneFeedbackResult>({
    name: 'offerstream_prune_feedback_rows',
    text: SQL,
    values: [o.cutoff, o.limit],
  })
  return rows[0]!
}
