import { randomBytes } from 'node:crypto'
import { Admin, ProduceAcks, Producer } from '@platformatic/kafka'
import pg from 'pg'
import { loadConfig } from '../src/config/load-config.ts'
import type { Config } from '../src/config/settings.ts'
import { ensureTopics } from '../src/kafka/ensure-topics.ts'
import { migrate } from '../src/pg/migrate.ts'
import { createPool } from '../src/pg/pool.ts'
import { type ReadRecord, readTopic } from './sinks.ts'

// Tests run against the real Kafka and PostgreSQL named by KAFKA_BROKERS and DATABASE_URL, which
// scripts/run-tests.ts provides (it starts a local stack when they are not set). Each fixture gets
// its own topics, consumer group, transactional id and database, and removes them afterwards.

export interface Fixture {
  config: Config
  pool: pg.Pool
  produce(values: Array<string | Buffer | null>, key?: string, topic?: string): Promise<void>
  /** The topic as a read_committed consumer sees it: sinks.ts readTopic on this fixture's brokers. */
  readTopic(topic: string, opts: { atLeast: number; timeoutMs?: number; settleMs?: number }): Promise<ReadRecord[]>
  addSubscribers(rows: Array<[clientId: string, restaurantId: string]>): Promise<void>
  cleanup(): Promise<void>
}

export function requireServices(): { brokers: string; databaseUrl: string } {
  const brokers = process.env.KAFKA_BROKERS
  const databaseUrl = process.env.DATABASE_URL
  if (!brokers || !databaseUrl) throw new Error('KAFKA_BROKERS and DATABASE_URL must be set: run tests with `npm test`')
  return { brokers, databaseUrl }
}

function withDatabase(url: string, db: string): string {
  const u = new URL(url)
  u.pathname = `/${db}`
  return u.toString()
}

export interface FixtureOptions {
  /** Run in the fresh database before anything else, e.g. tables as another system created them. */
  setupSql?: string
  /** false: leave the schema to the test (it runs `offerstream migrate` itself). Default true. */
  migrate?: boolean
}

export async function createFixture(overrides: Record<string, string> = {}, opts: FixtureOptions = {}): Promise<Fixture> {
  const { brokers, databaseUrl } = requireServices()
  const id = randomBytes(5).toString('hex')
  const db = `t_${id}`
  const admin = new pg.Client({ connectionString: databaseUrl })
  await admin.connect()
  await admin.query(`create database ${db}`)
  await admin.end()
  const config = loadConfig({
    env: {
      KAFKA_BROKERS: brokers,
      DATABASE_URL: withDatabase(databaseUrl, db),
      OFFERSTREAM_INPUT_TOPIC: `in_${id}`,
      OFFERSTREAM_OUTPUT_TOPIC: `out_${id}`,
      OFFERSTREAM_DLQ_TOPIC: `dlq_${id}`,
      OFFERSTREAM_STATE_TOPIC: `state_${id}`,
      OFFERSTREAM_SHARD_TOPIC: `shards_${id}`,
      OFFERSTREAM_FEEDBACK_TOPIC: `fb_${id}`,
      OFFERSTREAM_FEEDBACK_DLQ_TOPIC: `fbdlq_${id}`,
      OFFERSTREAM_GROUP_ID: `g_${id}`,
      OFFERSTREAM_TRANSACTIONAL_ID: `tx_${id}`,
      OFFERSTREAM_HTTP_ENABLED: 'false',
      OFFERSTREAM_LOG_LEVEL: process.env.OFFERSTREAM_LOG_LEVEL ?? 'silent',
      ...overrides,
    },
  })
  const pool = createPool(config.databaseUrl)
  if (opts.setupSql) await pool.query(opts.setupSql)
  if (opts.migrate !== false) await migrate(pool)
  await ensureTopics(config)
  // acks=all: an input record acknowledged by one broker that then dies would be expected yet never consumed.
  const producer = new Producer({ clientId: `test-${id}`, bootstrapBrokers: config.kafkaBrokers, acks: ProduceAcks.ALL })

  return {
    config,
    pool,
    async produce(values, key = 'first_message', topic = config.inputTopic) {
      await producer.send({
        messages: values.map(v => ({ topic, key: Buffer.from(key), value: v === null ? undefined : Buffer.from(v) })),
      })
    },
    readTopic: (topic, opts) => readTopic(config.kafkaBrokers, topic, opts),
    async addSubscribers(rows) {
      if (rows.length === 0) return
      await pool.query('insert into subscribers_restaurants (client_id, restaurant_id) select * from unnest($1::uuid[], $2::uuid[])', [
        rows.map(r => r[0]),
        rows.map(r => r[1]),
      ])
    },
    async cleanup() {
      await producer.close(true).catch(() => {})
      await pool.end().catch(() => {})
      const a = new Admin({ clientId: `cleanup-${id}`, bootstrapBrokers: config.kafkaBrokers })
      await a
        .deleteTopics({
          topics: [
            config.inputTopic,
            config.outputTopic,
            config.dlqTopic,
            config.stateTopic,
            config.shardTopic,
            config.feedbackTopic,
            config.feedbackDlqTopic,
          ],
        })
        .catch(() => {})
      await a.close().catch(() => {})
      const c = new pg.Client({ connectionString: databaseUrl })
      await c.connect()
      await c.query(`drop database if exists ${db} with (force)`)
      await c.end()
    },
  }
}
