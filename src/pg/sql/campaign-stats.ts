import { type CampaignStats, campaignStats as withRates } from '../../core/campaign-stats.ts'
import { FEEDBACK_KINDS, type FeedbackKind } from '../../core/feedback.ts'
import type { Db } from '../db.ts'

/**
 * Statistics of the campaigns an offerstream_events filter selects: the campaign's row
 * (offerstream_campaigns) gives its current version and cancel, its latest event its status. Feedback is read through its unique index in (campaign,
 * client) order with the in-window flag and push time in the index, so a campaign costs a scan of
 * its own feedback only; the per-client step collapses each client's events to the kinds it
 * reported and its first reaction time.
 */
export function statsSql(eventFilter: string): string {
  // Each client's kinds as bits (kind i = bit i), cheaper to fold and test than an array of them.
  const bit = (k: string) => 1 << FEEDBACK_KINDS.indexOf(k as FeedbackKind)
  const kindBits = `case fb.feedback ${FEEDBACK_KINDS.map(k => `when '${k}' then ${bit(k)}`).join(' ')} else 0 end`
  const perKind = FEEDBACK_KINDS.map(k => `count(*) filter (where kinds & ${bit(k)} <> 0)::int as "${k}"`).join(',\n    ')
  return `
with latest as (
  select distinct on (adv_campaign_id) adv_campaign_id, restaurant_id, adv_campaign_content, adv_campaign_datetime_start,
    adv_campaign_datetime_end, status
  from offerstream_events where ${eventFilter} order by adv_campaign_id, id desc
), campaigns as (
  select l.adv_campaign_id, l.restaurant_id, coalesce(v.adv_campaign_content, l.adv_campaign_content) as adv_campaign_content,
    coalesce(v.adv_campaign_datetime_start, l.adv_campaign_datetime_start) as adv_campaign_datetime_start,
    coalesce(v.adv_campaign_datetime_end, l.adv_campaign_datetime_end) as adv_campaign_datetime_end,
    case when v.cancelled_at is not null then 'cancelled' else l.status end as status,
    v.datetime_created as version, coalesce(v.versions, 1) as versions, to_json(v.cancelled_at) #>> '{}' as cancelled_at
  from latest l left join offerstream_campaigns v using (adv_campaign_id)
), pushed as (
  select f.adv_campaign_id, sum(f.row_count)::bigint as n
  from offerstream_fanouts f join campaigns c using (adv_campaign_id) group by 1
), suppressed as (
  -- Pairs a frequency cap kept back (000006_frequency_cap.sql): an index-only count per campaign.
  select s.adv_campaign_id, count(*)::bigint as n
  from offerstream_suppressed s join campaigns c using (adv_campaign_id) group by 1
), per_client as (
  select fb.adv_campaign_id, bit_or(${kindBits}) as kinds,
    greatest(0, min(fb.datetime_created) - min(fb.pushed_at)) as first_s
  from offerstream_feedback fb join campaigns c using (adv_campaign_id)
  where fb.in_window group by fb.adv_campaign_id, fb.client_id
), per_campaign as (
  select adv_campaign_id,
    ${perKind},
    count(*) filter (where kinds & ~${bit('delivered')} <> 0)::int as responded,
    percentile_cont(0.5) within group (order by first_s) as p50,
    avg(first_s)::float8 as avg
  from per_client group by 1
)
select c.adv_campaign_id, c.restaurant_id, c.adv_campaign_content, c.adv_campaign_datetime_start, c.adv_campaign_datetime_end,
  c.status, c.version, c.versions, c.cancelled_at, coalesce(p.n, 0) as pushed, coalesce(s.n, 0) as suppressed, ${FEEDBACK_KINDS.map(k => `pc."${k}"`).join(', ')}, pc.responded, pc.p50, pc.avg
from campaigns c left join pushed p using (adv_campaign_id) left join suppressed s using (adv_campaign_id) left join per_campaign pc using (adv_campaign_id)
order by c.adv_campaign_datetime_start desc, c.adv_campaign_id`
}

// biome-ignore lint/suspicious/noExplicitAny: a row of the query above
export function toStats(r: any): CampaignStats {
  return withRates({
    campaignId: r.adv_campaign_id,
    restaurantId: r.restaurant_id,
    content: r.adv_campaign_content,
    start: r.adv_campaign_datetime_start,
    end: r.adv_campaign_datetime_end,
    version: r.version,
    versions: r.versions,
    cancelledAt: r.cancelled_at,
    status: r.status,
    pushed: r.pushed,
    suppressed: r.suppressed,
    feedback: Object.fromEntries(FEEDBACK_KINDS.map(k => [k, r[k] ?? 0])),
    responded: r.responded ?? 0,
    firstFeedbackSeconds: { p50: r.p50, avg: r.avg },
  })
}

const SQL = statsSql('adv_campaign_id = $1')

/** One campaign's statistics, or null when no such campaign was ever received. */
export async function campaignStats(db: Db, campaignId: string): Promise<CampaignStats | null> {
  const { rows } = await db.query({ name: 'offerstream_campaign_stats', text: SQL, values: [campaignId] })
  return rows[0] ? toStats(rows[0]) : null
}
