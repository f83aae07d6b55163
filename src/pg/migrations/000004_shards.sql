-- Scale-out: campaigns are split into shards (core/shard.ts), each owned by one instance at a time.
-- Rows stored before this migration belong to shard 0 until the first sharded start assigns them
-- (src/pg/sql/setup-shards.ts), which needs the configured shard count that SQL cannot know.
alter table offerstream_events add column shard integer not null default 0;
alter table offerstream_fanouts add column shard integer not null default 0;
alter table offerstream_rejects add column shard integer not null default 0;

-- One row per shard, created by the first sharded start. The owner that takes a shard raises its
-- epoch; every writer transaction of the shard checks that the epoch is still its own, so an
-- instance that lost the shard (frozen past its session, then woken) cannot write another row.
-- generation is the consumer-group generation that handed the shard out: an owner from an older
-- generation can never take a shard back from a newer one.
create table offerstream_shards (
  shard integer primary key,
  epoch bigint not null default 0,
  generation integer not null default -1,
  owner text,
  acquired_at timestamptz
);

drop index offerstream_events_pending;
drop index offerstream_events_fanning;
create index offerstream_events_pending on offerstream_events (shard, adv_campaign_datetime_start) where status = 'pending';
create index offerstream_events_fanning on offerstream_events (shard, id) where status = 'fanning';
-- Each shard's relay walks its own ranges and rejects in id order.
create index offerstream_fanouts_shard on offerstream_fanouts (shard, first_id);
create index offerstream_rejects_shard on offerstream_rejects (shard, id);
