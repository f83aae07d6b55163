import { createFixture, type Fixture } from '../testkit/fixture.ts'
import { FANOUT_NOTIFY_TRIGGER } from '../testkit/sinks.ts'

// Each scenario gets its own database, topics, consumer group and transactional id (a testkit
// fixture named after the scenario), so scenarios cannot see each other's data and a rerun starts
// from the same empty state. The database carries the NOTIFY trigger that times row commits.

export type BenchEnv = Pick<Fixture, 'config' | 'pool' | 'cleanup'>

export interface Services {
  brokers: string
  databaseUrl: string
}

// With a frequency cap on (--set OFFERSTREAM_FREQUENCY_CAP=...), a pair is pushed or suppressed:
// suppressed pairs are reported on the same channel, so "rows committed" counts pairs decided and a
// backlog lands when all are. One notification per campaign per chunk statement.
const SUPPRESSED_NOTIFY_TRIGGER = `
create function bench_notify_suppressed() returns trigger language plpgsql as $$
begin
  -- Tagged so it never repeats a payload of the same transaction (NOTIFY would drop it): a chunk that
  -- pushed as many pairs as it suppressed sent two equal payloads, and the bench waited for 249 pairs
  -- that were there (a 1,000,000-pair backlog with OFFERSTREAM_FREQUENCY_CAP=2/24h).
  perform pg_notify('bench_fanout', s.adv_campaign_id::text || ',' || s.n || ',s' || clock_timestamp()::text)
  from (select adv_campaign_id, count(*) as n from decided group by 1) s;
  return null;
end $$;
create trigger bench_notify_suppressed after insert on offerstream_suppressed referencing new table as decided
  for each statement execute function bench_notify_suppressed();`

export async function createBenchEnv(services: Services, name: string, overrides: Record<string, string> = {}): Promise<BenchEnv> {
  const settings = {
    OFFERSTREAM_LOG_LEVEL: 'info',
    // The service settings the bench takes from its own environment: to compare shard counts and
    // the Kafka transaction protocols (OFFERSTREAM_KAFKA_TRANSACTIONS=v1 against the default auto).
    ...(process.env.OFFERSTREAM_SHARDS ? { OFFERSTREAM_SHARDS: process.env.OFFERSTREAM_SHARDS } : {}),
    ...(process.env.OFFERSTREAM_KAFKA_TRANSACTIONS ? { OFFERSTREAM_KAFKA_TRANSACTIONS: process.env.OFFERSTREAM_KAFKA_TRANSACTIONS } : {}),
    ...overrides,
  }
  return createFixture(settings, {
    name: `bench_${name}`,
    services,
    poolSize: 6,
    afterMigrateSql: FANOUT_NOTIFY_TRIGGER + SUPPRESSED_NOTIFY_TRIGGER,
  })
}

/** Pairs a frequency cap has suppressed so far (0 with the caps off): decided, never pushed, so Kafka's count lacks them. */
export async function suppressedPairs(env: Pick<BenchEnv, 'pool'>): Promise<number> {
  return (await env.pool.query<{ n: number }>('select count(*)::int as n from offerstream_suppressed')).rows[0]!.n
}
