-- Issue 10: what users did with their pushes.

-- One row per distinct feedback event. The unique key is the event's identity, so the same event
-- redelivered by Kafka, retried over HTTP, or sent through both doors is stored once. Its INCLUDE
-- columns make it the only index the per-campaign statistics need (an index-only scan in
-- (campaign, client) order). pushed_at and in_window are copied from the push when the feedback is
-- recorded, so statistics never read subscribers_feedback.
create table offerstream_feedback (
  id bigserial primary key,
  adv_campaign_id uuid not null,
  client_id uuid not null,
  feedback text not null check (feedback in ('delivered', 'opened', 'clicked', 'redeemed', 'dismissed')),
  rating smallint check (rating between 1 and 5),
  comment text check (char_length(comment) <= 1000),
  -- Unix seconds, as the app reported it.
  datetime_created bigint not null,
  received_at timestamptz not null default now(),
  source text not null check (source in ('kafka', 'http')),
  -- trigger_datetime_created of the push this feedback answers.
  pushed_at bigint not null,
  -- False when the app dated the feedback after the campaign's end: kept, but not counted.
  in_window boolean not null,
  constraint offerstream_feedback_event unique (adv_campaign_id, client_id, feedback, datetime_created) include (pushed_at, in_window)
);

-- Finding the push a feedback answers: (campaign, client) -> its subscribers_feedback row. Not
-- unique (dedup stays with the fan-out); measured in README "Feedback" against the fan-out rate.
create index if not exists subscribers_feedback_campaign_client on subscribers_feedback (adv_campaign_id, client_id);

-- The statistics select campaigns by id, by restaurant and by recency. offerstream_events grows by
-- one row per campaign received, so these cost the writer next to nothing.
create index offerstream_events_campaign on offerstream_events (adv_campaign_id);
create index offerstream_events_restaurant on offerstream_events (restaurant_id, adv_campaign_datetime_end);
create index offerstream_events_end on offerstream_events (adv_campaign_datetime_end);

