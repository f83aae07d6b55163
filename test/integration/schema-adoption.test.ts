import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'
import { SEED_EVENT_VALUE, SEED_SUBSCRIBERS } from '../../testkit/seed.ts'
import { eventually, runService } from '../../testkit/service.ts'
import { envFor } from '../../testkit/service-process.ts'
import { verifySinks } from '../../testkit/sinks.ts'

// A database where the app's tables already exist: either as the Spark job's JDBC writer created
// them (text ids, timestamp/text times, no id), which must be refused with the exact fix, or
// created by hand with the right types, which must be adopted as they are.

const BIN = fileURLToPath(new URL('../../bin/offerstream.js', import.meta.url))
const CAMPAIGN = JSON.parse(SEED_EVENT_VALUE).adv_campaign_id as string
const SEED_CLIENTS = SEED_SUBSCRIBERS.filter(s => s[2] === SEED_SUBSCRIBERS[0]?.[2]).map(s => s[1])

/** Runs an offerstream command to its end (bounded); returns exit code and output. */
function cli(fx: Fixture, command: string, timeoutMs = 60000): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [BIN, command], { env: envFor(fx.config), stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', d => (out += d))
  child.stderr.on('data', d => (out += d))
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  return new Promise(resolve =>
    child.on('exit', code => {
      clearTimeout(timer)
      resolve({ code, out })
    }),
  )
}

const SPARK_TABLES = `
create table subscribers_restaurants (id integer, client_id text, restaurant_id text);
create table subscribers_feedback (
  restaurant_id text, adv_campaign_id text, adv_campaign_content text, adv_campaign_owner text,
  adv_campaign_owner_contact text, adv_campaign_datetime_start timestamp, adv_campaign_datetime_end timestamp,
  datetime_created text, client_id text, trigger_datetime_created bigint, feedback text);
insert into subscribers_feedback values ('123E4567-E89B-12D3-A456-426614174000', '023e4567-e89b-12d3-a456-426614174099', 'old',
  null, null, '2022-07-30 17:51:56', '2054-04-07 00:38:36', '1659131516', '223e4567-e89b-12d3-a456-426614174000', 1659304828, 'liked');
`

async function pushesOfSeed(fx: Fixture) {
  await fx.pool.query('insert into subscribers_restaurants (client_id, restaurant_id) select * from unnest($1::uuid[], $2::uuid[])', [
    SEED_SUBSCRIBERS.map(s => s[1]),
    SEED_SUBSCRIBERS.map(s => s[2]),
  ])
  const service = await runService(fx.config)
  try {
    await fx.produce([SEED_EVENT_VALUE])
    const expected = new Set(SEED_CLIENTS.map(c => `${CAMPAIGN}/${c}`))
    const newRows = async () =>
      (await fx.pool.query(`select count(*)::int as n from subscribers_feedback where adv_campaign_id = $1`, [CAMPAIGN])).rows[0].n
    assert.ok(await eventually(async () => (await newRows()) >= expected.size))
    const pushes = await fx.readTopic(fx.config.outputTopic, { atLeast: expected.size })
    return { pushes, expected }
  } finally {
    await service.stop()
  }
}

test('tables as the Spark JDBC writer left them: refused with exit 2 and the ALTER statements; once applied, adopted', async () => {
  const fx = await createFixture({}, { setupSql: SPARK_TABLES, migrate: false })
  try {
    const migrateRun = await cli(fx, 'migrate')
    assert.equal(migrateRun.code, 2, migrateRun.out)
    assert.match(migrateRun.out, /subscribers_restaurants: client_id is text \(want uuid\); restaurant_id is text \(want uuid\)/)
    assert.match(migrateRun.out, /subscribers_feedback: id is missing; restaurant_id is text \(want uuid\);/)
    assert.match(migrateRun.out, /adv_campaign_datetime_start is timestamp without time zone \(want bigint\)/)
    // `run` stops just the same, once, instead of retrying forever.
    const runRun = await cli(fx, 'run')
    assert.equal(runRun.code, 2, runRun.out)
    assert.match(runRun.out, /alter table subscribers_feedback/)
    const untouched = await fx.pool.query(`select to_regclass('offerstream_migrations') as t, to_regclass('offerstream_events') as e`)
    assert.deepEqual(untouched.rows[0], { t: null, e: null }, 'a refused database is left as it was')

    // The statements in the message are the whole fix: applied verbatim, the next start adopts the tables.
    const statements = migrateRun.out.slice(migrateRun.out.indexOf('alter table'))
    await fx.pool.query(statements)
    const again = await cli(fx, 'migrate')
    assert.equal(again.code, 0, again.out)
    const old = await fx.pool.query(
      'select id, restaurant_id, adv_campaign_datetime_start, datetime_created, feedback from subscribers_feedback',
    )
    assert.deepEqual(old.rows, [
      {
        id: 1,
        restaurant_id: '123e4567-e89b-12d3-a456-426614174000',
        adv_campaign_datetime_start: 1659203516,
        datetime_created: 1659131516,
        feedback: 'liked',
      },
    ])
    const { pushes, expected } = await pushesOfSeed(fx)
    const sinks = await verifySinks(
      fx.pool,
      pushes,
      new Set([...expected, `023e4567-e89b-12d3-a456-426614174099/223e4567-e89b-12d3-a456-426614174000`]),
    )
    assert.equal(sinks.pg.missing + sinks.pg.duplicated + sinks.pg.unexpected, 0, JSON.stringify(sinks))
    assert.deepEqual(sinks.kafka, { missing: 1, duplicated: 0, unexpected: 0, total: expected.size }, 'the old row is not re-pushed')
  } finally {
    await fx.cleanup()
  }
})

test('tables created by hand with the right types (no index, integer serial ids, identity): adopted and used', async () => {
  const fx = await createFixture(
    {},
    {
      setupSql: `
create table subscribers_restaurants (id serial primary key, client_id uuid not null, restaurant_id uuid not null);
create table subscribers_feedback (
  id bigint generated by default as identity primary key, restaurant_id uuid, adv_campaign_id uuid, adv_campaign_content text,
  adv_campaign_owner varchar, adv_campaign_owner_contact varchar, adv_campaign_datetime_start bigint, adv_campaign_datetime_end bigint,
  datetime_created bigint, client_id uuid, trigger_datetime_created bigint, feedback text, created_at timestamptz default now());`,
      migrate: false,
    },
  )
  try {
    const migrated = await cli(fx, 'migrate')
    assert.equal(migrated.code, 0, migrated.out)
    const index = await fx.pool.query(`select 1 from pg_indexes where indexname = 'subscribers_restaurants_restaurant_client'`)
    assert.equal(index.rowCount, 1, 'the fan-out index is added to the adopted table')
    const { pushes, expected } = await pushesOfSeed(fx)
    const sinks = await verifySinks(fx.pool, pushes, expected)
    const exact = { missing: 0, duplicated: 0, unexpected: 0, total: expected.size }
    assert.deepEqual(sinks, { expected: expected.size, pg: exact, kafka: exact })
  } finally {
    await fx.cleanup()
  }
})
