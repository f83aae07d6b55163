-- Issue 17: cancel and update. Every input record stays an offerstream_events row (its fan-out, its
-- resume point); what a campaign IS now lives in one row per campaign id: its restaurant (fixed by
-- the first record seen, a cancel included), the winning version's fields and whether it was
-- cancelled. Every fan-out chunk locks this row FOR SHARE and pushes the fields it finds there, so
-- a cancel or a new version (an UPDATE of the row) waits for the chunks in flight and every later
-- chunk sees it: no push of a campaign commits after its cancel (src/pg/sql/fan-out-chunk.ts).
create table offerstream_campaigns (
  adv_campaign_id uuid primary key,
  restaurant_id uuid not null,
  -- The winning version: highest datetime_created, ties to the later stored (the larger event id).
  -- All null while only a cancel was seen.
  version_event_id bigint,
  adv_campaign_content text,
  adv_campaign_owner text,
  adv_campaign_owner_contact text,
  adv_campaign_datetime_start bigint,
  adv_campaign_datetime_end bigint,
  datetime_created bigint,
  -- Campaign records stored for this id (1 = never updated or re-sent).
  versions integer not null default 0,
  -- Kept forever once set: a cancel cannot be undone, and a re-sent campaign does not revive it.
  cancelled_at timestamptz,
  cancel_source text check (cancel_source in ('kafka', 'http'))
);

-- The campaigns stored before this migration: each one's winning version by the same rule.
insert into offerstream_campaigns (adv_campaign_id, restaurant_id, version_event_id, adv_campaign_content,
  adv_campaign_owner, adv_campaign_owner_contact, adv_campaign_datetime_start, adv_campaign_datetime_end,
  datetime_created, versions)
select distinct on (adv_campaign_id) adv_campaign_id, restaurant_id, id, adv_campaign_content, adv_campaign_owner,
  adv_campaign_owner_contact, adv_campaign_datetime_start, adv_campaign_datetime_end, datetime_created,
  count(*) over (partition by adv_campaign_id)
from offerstream_events order by adv_campaign_id, datetime_created desc, id desc;

-- An event of a cancelled campaign ends as 'cancelled' (src/core/campaign-state.ts).
alter table offerstream_events drop constraint offerstream_events_status_check;
alter table offerstream_events add constraint offerstream_events_status_check
  check (status in ('pending', 'fanning', 'done', 'expired', 'cancelled'));
