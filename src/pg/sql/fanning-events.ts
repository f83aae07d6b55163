import type { CampaignState } from '../../core/campaign-state.ts'
import type { Db } from '../db.ts'

const FANNING: CampaignState = 'fanning'

export interface FanningEvent {
  id: number
  shard: number
  restaurantId: string
  campaignId: string
  /** The campaign's current version's window (offerstream_campaigns); null while only a cancel was seen. */
  start: number | null
  end: number | null
  /** The campaign was cancelled: this event must not push. */
  cancelled: boolean
  fanoutAfter: string | null
  /**
   * The campaign has another event, or pruned fan-outs: its fan-out must skip clients those reached.
   * A superset of "fanned out before" (the other event may not have fanned out yet, or may do so
   * earlier in this very transaction), so the chunk can choose its plan without a query of its own.
   */
  resent: boolean
}

// The campaigns' fields as the writer needs them, with their campaigns' rows locked FOR SHARE and
// read as locked: the current version's window and the cancel. `round` names the events (locked
// FOR UPDATE for the transaction) and their order; the campaigns are locked in campaign id order,
// as the ingest stage locks them (insert-events.ts): no deadlock.
const withRound = (round: string) => `with round as (${round}), camp as (
  select adv_campaign_id, adv_campaign_datetime_start, adv_campaign_datetime_end, cancelled_at
  from offerstream_campaigns where adv_campaign_id in (select adv_campaign_id from round)
  order by adv_campaign_id for share
)
select r.id, r.shard, r.restaurant_id as "restaurantId", r.adv_campaign_id as "campaignId",
  c.adv_campaign_datetime_start as start, c.adv_campaign_datetime_end as "end",
  -- No row at all (cannot happen after migration 000005's backfill): nothing to push.
  c.cancelled_at is not null or c.adv_campaign_id is null as cancelled, r.fanout_after as "fanoutAfter", r.resent
from round r left join camp c using (adv_campaign_id) order by r.wrapped, r.id`

const RESENT = `exists (select 1 from offerstream_events o where o.adv_campaign_id = e.adv_campaign_id and o.id <> e.id)
    or exists (select 1 from offerstream_pruned_fanouts p where p.adv_campaign_id = e.adv_campaign_id) as resent`

/**
 * The shard's fan-outs in progress in round-robin order: those after afterId first, then wrapping
 * to the oldest (so one huge restaurant does not hold up the small ones behind it). Up to `limit`,
 * locked for this transaction, with their campaigns' rows locked FOR SHARE (see fan-out-chunk.ts)
 * and read as locked: the current version's window and the cancel. One query per writer
 * transaction: it used to be one or two per campaign taken, plus one more to find that the round was over.
 */
export async function fanningRoundRobin(client: Db, shard: number, afterId: number, limit: number): Promise<FanningEvent[]> {
  const { rows } = await client.query<FanningEvent>({
    name: 'offerstream_fanning_round_robin',
    text: withRound(`select id, shard, restaurant_id, adv_campaign_id, fanout_after, id <= $1 as wrapped, ${RESENT}
      from offerstream_events e where shard = $2 and status = '${FANNING}'
      order by id <= $1, id limit $3 for update`),
    values: [afterId, shard, limit],
  })
  return rows
}

/**
 * fanningRoundRobin for the given events only (those of the given shards still fanning; up to
 * `limit`), in id order: the round of a joint ingest transaction, which holds those shards' locks
 * and fans out the campaigns it has just stored and no others.
 */
export async function fanningEventsIn(
  client: Db,
  shards: readonly number[],
  ids: readonly number[],
  limit: number,
): Promise<FanningEvent[]> {
  if (ids.length === 0 || shards.length === 0) return []
  const { rows } = await client.query<FanningEvent>({
    name: 'offerstream_fanning_events_in',
    text: withRound(`select id, shard, restaurant_id, adv_campaign_id, fanout_after, false as wrapped, ${RESENT}
      from offerstream_events e where id = any($1::bigint[]) and shard = any($2::int[]) and status = '${FANNING}'
      order by id limit $3 for update`),
    values: [ids, shards, limit],
  })
  return rows
}
