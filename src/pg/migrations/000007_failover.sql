-- Issue 20: a failover that loses committed transactions leaves PostgreSQL behind what Kafka says
-- was committed. The start-up check (src/service/regression-check.ts) compares the two through the
-- newest fan-out range and reject of each shard and the newest stored input position of each
-- partition. `offerstream prune` deletes exactly those rows once they are old, so before deleting
-- it records here how far they went: a pruned table is then not mistaken for a regressed one.
create table offerstream_floors (
  -- 'push' and 'dlq': a shard's relay position (topic ''); 'input': an input partition's last stored offset.
  kind text not null check (kind in ('push', 'dlq', 'input')),
  topic text not null,
  part integer not null,
  position bigint not null,
  primary key (kind, topic, part)
);
