-- What dedup still needs of a pruned fan-out: which subscribers_feedback ids hold the clients the
-- campaign reached. `offerstream prune` moves each pruned event's fan-out ranges here (one row per
-- event: the span of its ranges; the anti-join filters by campaign, so other campaigns' rows
-- inside the span are read but never matched). A re-sent campaign anti-joins against these as well
-- as against its live offerstream_fanouts rows, so pruning never lets a client get a campaign twice.
create table offerstream_pruned_fanouts (
  adv_campaign_id uuid not null,
  first_id bigint not null,
  last_id bigint not null,
  -- The pruned event's campaign end: `prune --feedback-too` deletes the rows a range points at once
  -- it is older than the cut-off, and the range with them.
  campaign_end bigint not null,
  primary key (adv_campaign_id, first_id)
);

-- Deleting an event checks offerstream_fanouts for rows still referencing it: without this index
-- that check scanned the whole table once per pruned event (quadratic; measured: 400,000 events
-- did not finish in 6 minutes). One entry per fan-out chunk costs the writer next to nothing.
create index offerstream_fanouts_event on offerstream_fanouts (event_id);
