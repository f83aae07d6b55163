-- Issue 17: the frequency cap across restaurants (OFFERSTREAM_FREQUENCY_CAP, OFFERSTREAM_RESTAURANT_CAP).
-- Nothing here is read or written while both caps are off.

-- Each committed push as the caps see it: the client, the push's trigger_datetime_created and its
-- restaurant. Append-only: a fan-out chunk reads a client's pushes near its trigger time through
-- the (client_id, at) index (a merge join with the chunk's candidates, both in client order) and
-- appends the ones it makes. Every fan-out transaction that checks the caps holds CAP_LOCK
-- (src/pg/sql/lock-caps.ts), and each chunk is read after the lock is held, so it sees every push
-- any other instance committed. `offerstream prune` deletes entries no window can need (BRIN on
-- `at`: rows arrive roughly in time order, and the index costs next to nothing to keep).
create table offerstream_cap_pushes (
  client_id uuid not null,
  at bigint not null,
  restaurant_id uuid not null
);
create index offerstream_cap_pushes_client on offerstream_cap_pushes (client_id, at);
create index offerstream_cap_pushes_at on offerstream_cap_pushes using brin (at);

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
