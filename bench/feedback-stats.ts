// node bench/feedback-stats.ts [--rows 10000000] [--campaigns 10000] [--restaurants 500] [--seed 42]
// Loads offerstream_feedback with synthetic feedback by COPY into a fresh database (DATABASE_URL's
// server, or a throwaway local stack), then times the statistics queries the report, the HTTP API
// and the dashboard run: one campaign, one restaurant's last 7 days, every campaign of the last day
// and of all 30 days. KEEP_DB=1 keeps the database for EXPLAIN afterwards.
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { parseArgs } from 'node:util'
import type pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { campaignStats } from '../src/pg/sql/campaign-stats.ts'
import { restaurantCampaigns } from '../src/pg/sql/restaurant-campaigns.ts'
import { quantile } from '../testkit/quantiles.ts'
import { createRng } from '../testkit/rng.ts'
import { withScratchDatabase } from '../testkit/scratch-db.ts'

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

type Campaign = { id: string; restaurant: string; start: number; end: number }

/** Campaigns spread over the last 30 days, each an hour long; restaurant r owns campaigns c ≡ r; their events and fan-out ranges. */
async function createCampaigns(pool: pg.Pool, now: number) {
  const restaurants = Array.from({ length: restaurantCount }, () => rng.uuid())
  const campaigns: Campaign[] = Array.from({ length: campaignCount }, (_, c) => {
    const start = now - Math.floor((30 * 86400 * (campaignCount - c)) / campaignCount)
    return { id: rng.uuid(), restaurant: pick(restaurants, c), start, end: start + 3600 }
  })
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
  return { restaurants, campaigns }
}

const PATHS = [
  ['delivered'],
  ['delivered', 'opened'],
  ['delivered', 'opened', 'clicked'],
  ['delivered', 'opened', 'clicked', 'redeemed'],
  ['delivered', 'dismissed'],
]

/** COPY text of one campaign's feedback (up to eventsPerCampaign, and `left` rows to go): clients along random stage paths. */
function campaignFeedback(c: Campaign, left: number): { text: string; n: number } {
  let text = ''
  let n = 0
  while (n < eventsPerCampaign && n < left) {
    const id = rng.uuid()
    const path = pick(PATHS, rng.int(PATHS.length))
    let at = c.start + rng.int(600)
    for (const kind of path) {
      if (n >= eventsPerCampaign) break
      at += 1 + rng.int(120)
      // One event in twenty after the campaign's end: stored, not counted.
      const inWindow = at <= c.end && rng.next() > 0.05
      text += `${c.id}\t${id}\t${kind}\t\\N\t\\N\t${inWindow ? at : c.end + 1 + rng.int(600)}\tkafka\t${c.start}\t${inWindow ? 't' : 'f'}\n`
      n++
    }
  }
  return { text, n }
}

/** Loads `rows` feedback rows by COPY; returns how many. */
async function copyFeedback(pool: pg.Pool, campaigns: Campaign[]): Promise<number> {
  let loaded = 0
  async function* chunks() {
    for (const c of campaigns) {
      const { text, n } = campaignFeedback(c, rows - loaded)
      loaded += n
      if (loaded % 1000000 < n) say(`loaded ${loaded.toLocaleString('en-US')}`)
      yield text
      if (loaded >= rows) break
    }
  }
  const client = await pool.connect()
  try {
    const copy = copyFrom(
      'copy offerstream_feedback (adv_campaign_id, client_id, feedback, rating, comment, datetime_created, source, pushed_at, in_window) from stdin',
    )
    await pipeline(Readable.from(chunks()), client.query(copy))
  } finally {
    client.release()
  }
  return loaded
}

/** What autovacuum does by itself after a bulk load; without the visibility map the stats scans fetch every heap page. */
async function vacuum(pool: pg.Pool): Promise<void> {
  const tv = Date.now()
  await pool.query('vacuum analyze offerstream_feedback')
  say(`vacuum analyze: ${((Date.now() - tv) / 1000).toFixed(1)} s`)
  const size = await pool.query(
    `select pg_size_pretty(pg_table_size('offerstream_feedback')) as heap, pg_size_pretty(pg_indexes_size('offerstream_feedback')) as indexes`,
  )
  say(`offerstream_feedback: heap ${size.rows[0].heap}, indexes ${size.rows[0].indexes}`)
}

async function time(what: string, runs: number, fn: (i: number) => Promise<number>): Promise<void> {
  const ms: number[] = []
  let n = 0
  for (let i = 0; i < runs; i++) {
    const t = performance.now()
    n = await fn(i)
    ms.push(performance.now() - t)
  }
  say(`${what}: p50 ${quantile(ms, 0.5).toFixed(1)} ms, max ${Math.max(...ms).toFixed(1)} ms over ${runs} runs (${n} campaigns each)`)
}

/** The statistics queries of the report, the HTTP API and the dashboard. */
async function timeQueries(pool: pg.Pool, campaigns: Campaign[], restaurants: string[], now: number): Promise<void> {
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
  say(`sample: ${JSON.stringify(await campaignStats(pool, pick(campaigns, 0).id))}`)
}

// ~2.5 events per client who answers, so pushes ≈ rows / 2.5 / response share.
const eventsPerCampaign = Math.ceil(rows / campaignCount)
const pushedPerCampaign = Math.ceil(eventsPerCampaign / 1.5)

await withScratchDatabase({ prefix: 'fbstats', poolSize: 2, keep: Boolean(process.env.KEEP_DB), log: say }, async pool => {
  const now = Math.floor(Date.now() / 1000)
  const { restaurants, campaigns } = await createCampaigns(pool, now)
  say(
    `${campaignCount} campaigns of ${restaurantCount} restaurants, ${pushedPerCampaign} pushes each; loading ${rows.toLocaleString('en-US')} feedback rows`,
  )
  const t0 = Date.now()
  const loaded = await copyFeedback(pool, campaigns)
  const loadS = (Date.now() - t0) / 1000
  say(
    `loaded ${loaded.toLocaleString('en-US')} rows in ${loadS.toFixed(1)} s (${Math.round(loaded / loadS).toLocaleString('en-US')} rows/s, unique index in place)`,
  )
  await vacuum(pool)
  await timeQueries(pool, campaigns, restaurants, now)
})
