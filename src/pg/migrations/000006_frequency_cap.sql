-- Issue 17: the frequency cap across restaurants (OFFERSTREAM_FREQUENCY_CAP, OFFERSTREAM_RESTAURANT_CAP).
-- Nothing here is read or written while both caps are off.

-- Each client's committed pushes as the caps see them: trigger_datetime_created of each push, with
-- its restaurant at the same index. The row is the cap's serialisation point for its client: the
-- fan-out statement upserts it with ON CONFLICT DO UPDATE, which locks it and decides on its latest
-- committed version, so fan-outs of different shards reaching the same client take turns on it and
-- every push committed before counts (src/pg/sql/fan-out-chunk.ts). verdict is the outcome of the
-- last push checked against the row (null: pushed): how the upsert tells the statement what it
-- decided. Entries no window can need any more are dropped by the fan-out once a row grows, and by
-- `offerstream prune`. fillfactor leaves room for updates in place (HOT).
create table offerstream_cap_history (
  client_id uuid primary key,
  times bigint[] not null,
  restaurants uuid[] not null,
  verdict text
) with (fillfactor = 70);

-- Pairs the caps kept from being pushed: no subscribers_feedback row, no push message, never
-- retried (a re-send of the campaign anti-joins against these as against its pushes).
create table offerstream_suppressed (
  event_id bigint not null,
  adv_campaign_id uuid not null,
  client_id uuid not null,
  restaurant_id uuid not null,
  rule text not null check (rule in ('frequency_cap', 'restaurant_cap')),
  -- The trigger time the push would have had (what the cap compared), and when it was decided.
  trigger_datetime_created bigint not null,
  suppressed_at timestamptz not null default now(),
  -- `prune --feedback-too` deletes a campaign's suppressed pairs with its pushes.
  adv_campaign_datetime_end bigint not null
);
-- Statistics count a campaign's suppressed pairs; a re-send reads its clients.
create index offerstream_suppressed_campaign_client on offerstream_suppressed (adv_campaign_id, client_id);

-- True when one more push at `at` keeps every window of `win` seconds (windows are [s, s + win))
-- holding at most `lim` of `times`. The windows holding `at` whose count can be largest start at
-- at - win + 1 or win - 1 before a push in [at, at + win): those are the only ones counted. Times
-- are in commit order, not time order (a campaign's trigger time is stamped when its fan-out
-- starts), so pushes on both sides of `at` count. testkit/cap-oracle.ts (capAdmits) states the
-- rule another way; an integration test checks the two agree.
create function offerstream_cap_room(times bigint[], at bigint, lim integer, win bigint) returns boolean
language plpgsql immutable as $$
declare
  x bigint;
  y bigint;
  n integer;
begin
  if coalesce(cardinality(times), 0) < lim then
    return true;
  end if;
  foreach x in array times || at loop
    if x >= at and x < at + win then
      n := 0;
      foreach y in array times loop
        if y > x - win and y <= x then
          n := n + 1;
        end if;
      end loop;
      if n >= lim then
        return false;
      end if;
    end if;
  end loop;
  return true;
end $$;

-- The rule one push of `rest` at `at` would break given a client's pushes near it (null: none; the
-- frequency cap is checked first). A null lim turns that cap off.
create function offerstream_cap_verdict(
  times bigint[], restaurants uuid[], at bigint, rest uuid, lim integer, win bigint, rest_lim integer, rest_win bigint)
returns text language plpgsql immutable as $$
declare
  i integer;
  mine bigint[] := '{}';
begin
  if lim is not null and not offerstream_cap_room(times, at, lim, win) then
    return 'frequency_cap';
  end if;
  if rest_lim is not null then
    for i in 1 .. coalesce(cardinality(times), 0) loop
      if restaurants[i] = rest then
        mine := mine || times[i];
      end if;
    end loop;
    if not offerstream_cap_room(mine, at, rest_lim, rest_win) then
      return 'restaurant_cap';
    end if;
  end if;
  return null;
end $$;

-- One push of `rest` at `at` against a client's history: the verdict and the history after it.
-- Entries before keep_from can no longer share a window with any push still possible; they are
-- dropped once the history is longer than the caps need. Few pushes: no verdict needed.
create function offerstream_cap_push(
  inout times bigint[], inout restaurants uuid[], at bigint, rest uuid,
  lim integer, win bigint, rest_lim integer, rest_win bigint, keep_from bigint, out verdict text)
language plpgsql immutable as $$
declare
  i integer;
  kt bigint[] := '{}';
  kr uuid[] := '{}';
begin
  if cardinality(times) > 2 * greatest(lim, rest_lim) + 4 then
    for i in 1 .. cardinality(times) loop
      if times[i] >= keep_from then
        kt := kt || times[i];
        kr := kr || restaurants[i];
      end if;
    end loop;
    times := kt;
    restaurants := kr;
  end if;
  verdict := case when cardinality(times) >= least(lim, rest_lim)
    then offerstream_cap_verdict(times, restaurants, at, rest, lim, win, rest_lim, rest_win) end;
  if verdict is null then
    times := times || at;
    restaurants := restaurants || rest;
  end if;
end $$;
