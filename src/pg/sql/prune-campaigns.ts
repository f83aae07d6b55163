import type { Db } from '../db.ts'

interface PruneCampaignsResult {
  campaigns: number
  /** Highest campaign id examined: the next batch starts after it. Null when nothing was left. */
  lastId: string | null
  /** Rows that met the rule in the snapshot (the batch is full when it equals the limit). */
  examined: number
}

// The rule (docs/operations.md, "Retention of campaign rows"): a campaign's row (migration 000005)
// goes once no event of it is left (prune-events.ts deletes them after their end), the winning
// version ended before the cut-off (or there is none: only a cancel), and a cancel, if any, was
// committed before the cancels' cut-off. Rows are walked in id order from `after`, one pass a run.
//
// Concurrency. The ingest statement (insert-events.ts) updates a campaign's row, then stores its
// event, in one transaction. This statement's not-exists test reads its snapshot, which an ingest
// committing meanwhile is not in; so each candidate is locked (in campaign id order, as the ingest
// statement and the fan-out lock them: no deadlock) and re-checked on the row as last committed:
// `versions` counts the records stored, so a changed count means a new event, and the row stays.
// A cancel committed meanwhile moves cancelled_at past the cancels' cut-off: the row stays too. An
// ingest that comes after the lock waits for the delete, then inserts a fresh row (ON CONFLICT
// finds none).
const SQL = `
with candidate as (
  select c.adv_campaign_id, c.versions from offerstream_campaigns c
  where c.adv_campaign_id > $1
    and (c.version_event_id is null or c.adv_campaign_datetime_end < $2)
    and (c.cancelled_at is null or c.cancelled_at < to_timestamp($3::bigint))
    and not exists (select 1 from offerstream_events e where e.adv_campaign_id = c.adv_campaign_id)
  order by c.adv_campaign_id limit $4
), locked as (
  select c.adv_campaign_id from offerstream_campaigns c join candidate k using (adv_campaign_id)
  where c.versions = k.versions
    and (c.version_event_id is null or c.adv_campaign_datetime_end < $2)
    and (c.cancelled_at is null or c.cancelled_at < to_timestamp($3::bigint))
  order by c.adv_campaign_id for update of c
), gone as (
  delete from offerstream_campaigns c using locked l where c.adv_campaign_id = l.adv_campaign_id returning 1
)
select (select count(*) from gone)::int as campaigns, (select count(*) from candidate)::int as examined,
  (select max(adv_campaign_id::text) from candidate) as last_id`

/**
 * Deletes up to `limit` campaign rows no record can still need: no event left, ended before
 * `cutoff` (or never received), and not cancelled at or after `cancelCutoff` (unix seconds).
 */
export async function pruneCampaigns(
  db: Db,
  o: { after: string; cutoff: number; cancelCutoff: number; limit: number },
): Promise<PruneCampaignsResult> {
  const { rows } = await db.query<{ campaigns: number; examined: number; last_id: string | null }>({
    name: 'offerstream_prune_campaigns',
    text: SQL,
    values: [o.after, o.cutoff, o.cancelCutoff, o.limit],
  })
  const r = rows[0]!
  return { campaigns: r.campaigns, lastId: r.last_id, examined: r.examined }
}
