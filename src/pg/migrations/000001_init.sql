-- The app's tables: created only when missing, so an existing deployment keeps its own.
create table if not exists subscribers_restaurants (
  id serial primary key,
  client_id uuid not null,
  restaurant_id uuid not null
);
-- Fan-out reads one restaurant's clients in client order: an index-only scan, no table rescans.
create index if not exists subscribers_restaurants_restaurant_client
  on subscribers_restaurants (restaurant_id, client_id);

-- Seed 000's columns and names. Deliberately no per-row unique index: dedup is enforced by the
-- fan-out (see offerstream_fanouts), which keeps this table's write rate near the raw COPY rate.
create table if not exists subscribers_feedback (
  id bigserial primary key,
  restaurant_id uuid not null,
  adv_campaign_id uuid not null,
  adv_campaign_content text not null,
  adv_campaign_owner text,
  adv_campaign_owner_contact text,
  adv_campaign_datetime_start bigint not null,
  adv_campaign_datetime_end bigint not null,
  datetime_created bigint not null,
  client_id uuid not null,
  trigger_datetime_created bigint not null,
  feedback text
);

-- Every accepted input record, keyed by its Kafka position so a redelivered record is a no-op.
create table offerstream_events (
  id bigserial primary key,
  source_topic text not null,
  source_partition integer not null,
  source_offset bigint not null,
  restaurant_id uuid not null,
  adv_campaign_id uuid not null,
  adv_campaign_content text not null,
  adv_campaign_owner text,
  adv_campaign_owner_contact text,
  adv_campaign_datetime_start bigint not null,
  adv_campaign_datetime_end bigint not null,
  datetime_created bigint not null,
  status text not null check (status in ('pending', 'fanning', 'done', 'expired')),
  received_at timestamptz not null default now(),
  -- Set when the fan-out starts; every chunk of one fan-out shares it.
  trigger_datetime_created bigint,
  -- Last client written by a fan-out in progress: the resume point after a crash.
  fanout_after uuid,
  pushed bigint not null default 0,
  unique (source_topic, source_partition, source_offset)
);
create index offerstream_events_pending on offerstream_events (adv_campaign_datetime_start) where status = 'pending';
create index offerstream_events_fanning on offerstream_events (id) where status = 'fanning';

-- One row per fan-out chunk: the contiguous range of subscribers_feedback ids it wrote. The relay
-- walks these ranges; a re-sent campaign anti-joins against its earlier ranges.
create table offerstream_fanouts (
  first_id bigint primary key,
  last_id bigint not null,
  event_id bigint not null references offerstream_events (id),
  adv_campaign_id uuid not null,
  row_count integer not null
);
create index offerstream_fanouts_campaign on offerstream_fanouts (adv_campaign_id);

-- Rejected input with its original bytes, waiting for the relay to copy it to the DLQ topic.
create table offerstream_rejects (
  id bigserial primary key,
  source_topic text not null,
  source_partition integer not null,
  source_offset bigint not null,
  record_key bytea,
  record_value bytea,
  code text not null,
  reason text not null,
  received_at timestamptz not null default now(),
  unique (source_topic, source_partition, source_offset)
);
