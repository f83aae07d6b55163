// node bench/feedback-stats.ts [--rows 10000000] [--campaigns 10000] [--restaurants 500] [--seed 42]
// Loads offerstream_feedback with synthetic feedback by COPY into a fresh database (DATABASE_URL's
// server, or a throwaway local stack), then times the statistics queries the report, the HTTP API
// and the dashboard run: one campaign, one restaurant's last 7 days, every campaign of the last day
// and of all 30 days. KEEP_DB=1 keeps the database for EXPLAIN afterwards.
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { migrate } from '../src/pg/migrate.ts'
import { createPool } from '../src/pg/pool.ts'
import { campaignStats } from '../src/pg/sql/campaign-stats.ts'
import { restaurantCampaigns } from '../src/pg/sql/restaurant-campaigns.ts'
import { quantile } from '../testkit/quantiles.ts'
import { createRng } from '../testkit/rng.ts'
import { startStack } from '../tools/stack/index.ts'

const { values: a } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000000' },
    campaigns: { type: 'string', default: '10000' },
    restaurants: { type: 'string', default: '500' },
    seed: { type: 'string', default: '42' },
  },
})
const rows = Number(a.rows)
const campaignCount = Number(a.campaigns)
const restaurantCount = Number(a.restaurants)
const rng = createRng(Number(a.seed))
const pick = <T>(xs: T[], i: number): T => xs[i % xs.length] as T
const say = (m: string) => process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${m}\n`)

const stack = process.env.DATABASE_URL ? undefined : await startStack({ log: m => say(`[stack] ${m}`) })
const serverUrl = process.env.DATABASE_URL ?? stack?.databaseUrl ?? ''
const db = `fbstats_${Date.now().toString(36)}`
const admin = new pg.Client({ connectionString: serverUrl })
await admin.connect()
await admin.query(`create database ${db}`)
const url = new URL(serverUrl)
url.pathname = `/${db}`
const pool = createPool(url.toString(), 2)
try {
  await migrate(pool)
  const now = Math.floor(Date.now() / 1000)
  // Campaigns spread over the last 30 days, each an hour long; restaurant r owns campaigns c ≡ r.
  const restaurants = Array.from({ length: restaurantCount }, () => rng.uuid())
  const campaigns = Array.from({ length: campaignCount }, (_, c) => {
    const start = now - Math.floor((30 * 86400 * (campaignCount - c)) / campaignCount)
    return { id: rng.uuid(), restaurant: pick(restaurants, c), start, end: start + 3600 }
  })
  // ~2.5 events per client who answers, so pushes ≈ rows / 2.5 / response share.
  const eventsPerCampaign = Math.ceil(rows / campaignCount)
  const pushedPerCampaign = Math.ceil(eventsPerCampaign / 1.5)
  await pool.query(
    `insert into offerstream_events (source_topic, source_partition, source_offset, restaurant_id, adv_campaign_id, adv_campaign_content,
       adv_campaign_datetime_start, adv_campaign_datetime_end, datetime_created, status, trigger_datetime_created, pushed)
     select 'bench', 0, o, r, c, 'bench campaign', s, e, s, 'done', s, $6 from unnest($1::bigint[], $2::uuid[], $3::uuid[], $4::bigint[], $5::bigint[]) as t(o, r, c, s, e)`,
    [
      campaigns.map((_, i) => i),
      campaigns.map(c => c.restaurant),
      campaigns.map(c => c.id),
      campaigns.map(c => c.start),
      campaigns.map(c => c.end),
      pushedPerCampaign,
    ],
  )
  await pool.query(
    `insert into offerstream_fanouts (first_id, last_id, event_id, adv_campaign_id, row_count)
     select e.id * $1, e.id * $1 + $1 - 1, e.id, e.adv_campaign_id, $1 from offerstream_events e`,
    [pushedPerCampaign],
  )
  say(
    `${campaignCount} campaigns of ${restaurantCount} restaurants, ${pushedPerCampaign} pushes each; loading ${rows.toLocaleString('en-US')} feedback rows`,
  )

  const t0 = Date.now()
  let loaded = 0
  async function* chunks() {
    const PATHS = [
      ['delivered'],
      ['delivered', 'opened'],
      ['delivered', 'opened', 'clicked'],
      ['delivered', 'opened', 'clicked', 'redeemed'],
      ['delivered', 'dismissed'],
    ]
    for (const c of campaigns) {
      let s = ''
      let n = 0
      while (n < eventsPerCampaign && loaded + n < rows) {
        const id = rng.uuid()
        const path = pick(PATHS, rng.int(PATHS.length))
        let at = c.start + rng.int(600)
        for (const kind of path) {
          if (n >= eventsPerCampaign) break
          at += 1 + rng.int(120)
          // One event in twenty after the campaign's end: stored, not counted.
          const inWindow = at <= c.end && rng.next() > 0.05
          s += `${c.id}\t${id}\t${kind}\t\\N\t\\N\t${inWindow ? at : c.end + 1 + rng.int(600)}\tkafka\t${c.start}\t${inWindow ? 't' : 'f'}\n`
          n++
        }
      }
      loaded += n
      if (loaded % 1000000 < n) say(`loaded ${loaded.toLocaleString('en-US')}`)
      yield s
      if (loaded >= rows) break
    }
  }
  const client = await pool.connect()
  try {
    await pipeline(
      Readable.from(chunks()),
      client.query(
        copyFrom(
          'copy offerstream_feedback (adv_campaign_id, client_id, feedback, rating, comment, datetime_created, source, pushed_at, in_window) from stdin',
        ),
      ),
    )
  } finally {
    client.release()
  }
  const loadS = (Date.now() - t0) / 1000
  say(
    `loaded ${loaded.toLocaleString('en-US')} rows in ${loadS.toFixed(1)} s (${Math.round(loaded / loadS).toLocaleString('en-US')} rows/s, unique index in place)`,
  )
  // What autovacuum does by itself after a bulk load; without the visibility map the stats scans
  // fetch every heap page.
  const tv = Date.now()
  await pool.query('vacuum analyze offerstream_feedback')
  say(`vacuum analyze: ${((Date.now() - tv) / 1000).toFixed(1)} s`)
  const size = await pool.query(
    `select pg_size_pretty(pg_table_size('offerstream_feedback')) as heap, pg_size_pretty(pg_indexes_size('offerstream_feedback')) as indexes`,
  )
  say(`offerstream_feedback: heap ${size.rows[0].heap}, indexes ${size.rows[0].indexes}`)

  const time = async (what: string, runs: number, fn: (i: number) => Promise<number>) => {
    const ms: number[] = []
    let n = 0
    for (let i = 0; i < runs; i++) {
      const t = performance.now()
      n = await fn(i)
      ms.push(performance.now() - t)
    }
    say(`${what}: p50 ${quantile(ms, 0.5).toFixed(1)} ms, max ${Math.max(...ms).toFixed(1)} ms over ${runs} runs (${n} campaigns each)`)
  }
  await time('campaignStats (one campaign)', 50, async i => ((await campaignStats(pool, pick(campaigns, i * 7919).id)) ? 1 : 0))
  await time(
    'restaurantCampaigns (one restaurant, since 7d)',
    20,
    async i => (await restaurantCampaigns(pool, { restaurantId: pick(restaurants, i * 131), sinceSeconds: now - 7 * 86400 })).length,
  )
  await time(
    'restaurantCampaigns (all restaurants, since 1d)',
    5,
    async () => (await restaurantCampaigns(pool, { sinceSeconds: now - 86400 })).length,
  )
  await time(
    'restaurantCampaigns (all restaurants, since 30d = every row)',
    3,
    async () => (await restaurantCampaigns(pool, { sinceSeconds: now - 31 * 86400 })).length,
  )
  const check = await campaignStats(pool, pick(campaigns, 0).id)
  say(`sample: ${JSON.stringify(check)}`)
} finally {
  await pool.end()
  if (!process.env.KEEP_DB) await admin.query(`drop database if exists ${db} with (force)`)
  await admin.end()
  await stack?.stop()
}
