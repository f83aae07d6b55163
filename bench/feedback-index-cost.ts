// node bench/feedback-index-cost.ts [--clients 200000] [--campaigns 5] [--rounds 3]
// What the push lookup index (subscribers_feedback (adv_campaign_id, client_id), migration 000002)
// costs the fan-out: the fan-out's own insert..select of --campaigns campaigns to one restaurant's
// --clients subscribers, timed without and with the index, alternating --rounds times on the same
// server (DATABASE_URL's, or a throwaway local stack) so load drift hits both alike.
import { parseArgs } from 'node:util'
import pg from 'pg'
import { migrate } from '../src/pg/migrate.ts'
import { createPool } from '../src/pg/pool.ts'
import { quantile } from '../testkit/quantiles.ts'
import { createRng } from '../testkit/rng.ts'
import { startStack } from '../tools/stack/index.ts'

const { values: a } = parseArgs({
  options: {
    clients: { type: 'string', default: '200000' },
    campaigns: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
  },
})
const clients = Number(a.clients)
const say = (m: string) => process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${m}\n`)
const rng = createRng(7)

const stack = process.env.DATABASE_URL ? undefined : await startStack({ log: m => say(`[stack] ${m}`) })
const serverUrl = process.env.DATABASE_URL ?? stack?.databaseUrl ?? ''
const db = `fbidx_${Date.now().toString(36)}`
const admin = new pg.Client({ connectionString: serverUrl })
await admin.connect()
await admin.query(`create database ${db}`)
const url = new URL(serverUrl)
url.pathname = `/${db}`
const pool = createPool(url.toString(), 1)
try {
  await migrate(pool)
  const restaurant = rng.uuid()
  await pool.query(
    'insert into subscribers_restaurants (client_id, restaurant_id) select gen_random_uuid(), $1 from generate_series(1, $2)',
    [restaurant, clients],
  )
  await pool.query('vacuum analyze subscribers_restaurants')
  // The fan-out's insert..select (src/pg/sql/fan-out-chunk.ts) without the event join: same rows, same order.
  const fanOut = (campaign: string) =>
    pool.query(
      `insert into subscribers_feedback (restaurant_id, adv_campaign_id, adv_campaign_content, adv_campaign_owner,
         adv_campaign_owner_contact, adv_campaign_datetime_start, adv_campaign_datetime_end, datetime_created,
         client_id, trigger_datetime_created, feedback)
       select $1, $2, 'first campaign', 'Ivanov Ivan Ivanovich', 'iiivanov@restaurant.ru', 1659203516, 2659207116, 1659131516,
         c.client_id, 1659304828, null
       from (select distinct client_id from subscribers_restaurants where restaurant_id = $1 order by client_id) c order by c.client_id`,
      [restaurant, campaign],
    )
  const results = { 'no index': [] as number[], 'with index': [] as number[] }
  for (let round = 0; round < Number(a.rounds); round++) {
    for (const variant of ['no index', 'with index'] as const) {
      await pool.query('truncate subscribers_feedback')
      await pool.query(
        variant === 'no index'
          ? 'drop index if exists subscribers_feedback_campaign_client'
          : 'create index if not exists subscribers_feedback_campaign_client on subscribers_feedback (adv_campaign_id, client_id)',
      )
      await pool.query('checkpoint')
      const t = performance.now()
      for (let c = 0; c < Number(a.campaigns); c++) await fanOut(rng.uuid())
      const rate = (clients * Number(a.campaigns)) / ((performance.now() - t) / 1000)
      results[variant].push(rate)
      say(`round ${round + 1} ${variant}: ${Math.round(rate).toLocaleString('en-US')} rows/s`)
    }
  }
  for (const [variant, rates] of Object.entries(results)) {
    say(
      `${variant}: median ${Math.round(quantile(rates, 0.5)).toLocaleString('en-US')} rows/s (${rates.map(r => Math.round(r)).join(', ')})`,
    )
  }
} finally {
  await pool.end()
  await admin.query(`drop database if exists ${db} with (force)`)
  await admin.end()
  await stack?.stop()
}
