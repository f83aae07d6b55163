import { randomBytes } from 'node:crypto'
import { Admin } from '@platformatic/kafka'
import pg from 'pg'
import { loadConfig } from '../src/config/load-config.ts'
import type { Config } from '../src/config/settings.ts'
import { ensureTopics } from '../src/kafka/ensure-topics.ts'
import { migrate } from '../src/pg/migrate.ts'
import { createPool } from '../src/pg/pool.ts'
import { FANOUT_NOTIFY_TRIGGER } from '../testkit/sinks.ts'

// Each scenario gets its own database, topics, consumer group and transactional id, so scenarios
// cannot see each other's data and a rerun starts from the same empty state.

export interface BenchEnv {
  config: Config
  pool: pg.Pool
  cleanup(): Promise<void>
}

export interface Services {
  brokers: string
  databaseUrl: string
}

function withDatabase(url: string, db: string): string {
  const u = new URL(url)
  u.pathname = `/${db}`
  return u.toString()
}

// With a frequency cap on (--set OFFERSTREAM_FREQUENCY_CAP=...), a pair is pushed or suppressed:
// suppressed pairs are reported on the same channel, so "rows committed" counts pairs decided and a
// backlog lands when all are. One notification per campaign per chunk statement.
const SUPPRESSED_NOTIFY_TRIGGER = `
create function bench_notify_suppressed() returns trigger language plpgsql as $$
begin
  perform pg_notify('bench_fanout', s.adv_campaign_id::text || ',' || s.n)
  from (select adv_campaign_id, count(*) as n from decided group by 1) s;
  return null;
end $$;
create trigger bench_notify_suppressed after insert on offerstream_suppressed referencing new table as decided
  for each statement execute function bench_notify_suppressed();`

export async function createBenchEnv(services: Services, name: string, overrides: Record<string, string> = {}): Promise<BenchEnv> {
  const id = `${name}_${randomBytes(3).toString('hex')}`
  const db = `bench_${id}`
  const admin = new pg.Client({ connectionString: services.databaseUrl })
  await admin.connect()
  await admin.query(`create database ${db}`)
  await admin.end()
  const config = loadConfig({
    env: {
      KAFKA_BROKERS: services.brokers,
      DATABASE_URL: withDatabase(services.databaseUrl, db),
      OFFERSTREAM_INPUT_TOPIC: `bench_in_${id}`,
      OFFERSTREAM_OUTPUT_TOPIC: `bench_out_${id}`,
      OFFERSTREAM_DLQ_TOPIC: `bench_dlq_${id}`,
      OFFERSTREAM_STATE_TOPIC: `bench_state_${id}`,
      OFFERSTREAM_SHARD_TOPIC: `bench_shards_${id}`,
      OFFERSTREAM_FEEDBACK_TOPIC: `bench_fb_${id}`,
      OFFERSTREAM_FEEDBACK_DLQ_TOPIC: `bench_fbdlq_${id}`,
      OFFERSTREAM_GROUP_ID: `bench_g_${id}`,
      OFFERSTREAM_TRANSACTIONAL_ID: `bench_tx_${id}`,
      OFFERSTREAM_HTTP_ENABLED: 'false',
      OFFERSTREAM_LOG_LEVEL: 'info',
      // The one service setting the bench takes from its own environment: to compare shard counts.
      ...(process.env.OFFERSTREAM_SHARDS ? { OFFERSTREAM_SHARDS: process.env.OFFERSTREAM_SHARDS } : {}),
      ...overrides,
    },
  })
  const pool = createPool(config.databaseUrl, 6)
  await migrate(pool)
  await pool.query(FANOUT_NOTIFY_TRIGGER)
  await pool.query(SUPPRESSED_NOTIFY_TRIGGER)
  await ensureTopics(config)
  return {
    config,
    pool,
    async cleanup() {
      await pool.end().catch(() => {})
      const a = new Admin({ clientId: `bench-cleanup-${id}`, bootstrapBrokers: config.kafkaBrokers })
      await a
        .deleteTopics({ topics: [config.inputTopic, config.outputTopic, config.dlqTopic, config.stateTopic, config.shardTopic] })
        .catch(() => {})
      await a.close().catch(() => {})
      const c = new pg.Client({ connectionString: services.databaseUrl })
      await c.connect()
      await c.query(`drop database if exists ${db} with (force)`)
      await c.end()
    },
  }
}
