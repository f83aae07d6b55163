import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { Feedback, FeedbackKind } from '../../src/core/feedback.ts'
import { campaignStats } from '../../src/pg/sql/campaign-stats.ts'
import { fanOutChunk } from '../../src/pg/sql/fan-out-chunk.ts'
import { fanningRoundRobin } from '../../src/pg/sql/fanning-events.ts'
import { insertEvents } from '../../src/pg/sql/insert-events.ts'
import { recordFeedback } from '../../src/pg/sql/record-feedback.ts'
import { restaurantCampaigns } from '../../src/pg/sql/restaurant-campaigns.ts'
import { withTransaction } from '../../src/pg/transaction.ts'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'

// recordFeedback and the statistics queries on a small dataset whose answers are worked out by hand.
// Campaigns are fanned out by the service's own SQL, without the service.
const BIN = fileURLToPath(new URL('../../bin/offerstream.js', import.meta.url))
const execFileAsync = promisify(execFile)
let fx: Fixture
before(async () => {
  fx = await createFixture()
})
after(async () => fx?.cleanup())

let offset = 0
/** Stores a campaign as received at `trigger` and fans it out to `clients`; returns its id. */
async function pushed(restaurant: string, clients: string[], window: { start: number; end: number; trigger: number }): Promise<string> {
  const id = randomUUID()
  await fx.addSubscribers(clients.map(c => [c, restaurant]))
  const campaign = { restaurantId: restaurant, campaignId: id, content: `c ${id}`, owner: null, ownerContact: null, created: window.start }
  await withTransaction(fx.pool, async client => {
    await insertEvents(client, [
      {
        topic: 't',
        partition: 0,
        offset: String(offset++),
        campaign: { ...campaign, ...window },
        status: 'fanning',
        trigger: window.trigger,
        shard: 0,
      },
    ])
    for (let [e] = await fanningRoundRobin(client, 0, 0, 1); e; [e] = await fanningRoundRobin(client, 0, 0, 1)) {
      if ((await fanOutChunk(client, e, 1000, { nowSeconds: window.trigger, marginSeconds: 0 })).finished) break
    }
  })
  return id
}

const fb = (campaign: string, client: string, feedback: FeedbackKind, at: number, extra: Partial<Feedback> = {}): Feedback => ({
  adv_campaign_id: campaign,
  client_id: client,
  feedback,
  datetime_created: at,
  ...extra,
})
const stageOf = async (campaign: string, client: string) =>
  (
    await fx.pool.query('select feedback from subscribers_feedback where adv_campaign_id = $1 and client_id = $2', [campaign, client])
  ).rows.map(r => r.feedback)

const T = 1_800_000_000

test('outcomes: recorded, duplicate (again, or twice in a batch), unknown push, after the end; the stage only moves up', async () => {
  const [a, b] = [randomUUID(), randomUUID()]
  const c = await pushed(randomUUID(), [a, b], { start: T - 100, end: T + 3600, trigger: T })
  const first = await recordFeedback(
    fx.pool,
    [
      fb(c, a, 'delivered', T + 1),
      fb(c, a, 'opened', T + 5, { rating: 5, comment: 'nice' }),
      fb(c, a, 'opened', T + 5, { rating: 1 }),
      fb(c, randomUUID(), 'opened', T + 5),
      fb(randomUUID(), a, 'opened', T + 5),
      fb(c, b, 'redeemed', T + 3601),
    ],
    'kafka',
  )
  assert.deepEqual(
    first.map(r => r.outcome),
    ['recorded', 'recorded', 'duplicate', 'unknown_push', 'unknown_push', 'outside_window'],
  )
  assert.match(first[3]?.reason ?? '', /no push of campaign/)
  assert.deepEqual(await stageOf(c, a), ['opened'])
  assert.deepEqual(await stageOf(c, b), [null], 'feedback after the end does not move the stage')
  const stored = await fx.pool.query(
    `select feedback, rating, comment, source, pushed_at, in_window from offerstream_feedback where adv_campaign_id = $1 order by id`,
    [c],
  )
  assert.deepEqual(stored.rows, [
    { feedback: 'delivered', rating: null, comment: null, source: 'kafka', pushed_at: T, in_window: true },
    { feedback: 'opened', rating: 5, comment: 'nice', source: 'kafka', pushed_at: T, in_window: true },
    { feedback: 'redeemed', rating: null, comment: null, source: 'kafka', pushed_at: T, in_window: false },
  ])

  const again = await recordFeedback(fx.pool, [fb(c, a, 'opened', T + 5), fb(c, a, 'dismissed', T + 9), fb(c, a, 'clicked', T + 7)], 'http')
  assert.deepEqual(
    again.map(r => r.outcome),
    ['duplicate', 'recorded', 'recorded'],
  )
  assert.deepEqual(await stageOf(c, a), ['clicked'])
  await recordFeedback(fx.pool, [fb(c, a, 'dismissed', T + 20)], 'http')
  assert.deepEqual(await stageOf(c, a), ['clicked'], 'a later dismissal does not undo the click')
  const n = await fx.pool.query('select count(*)::int as n from offerstream_feedback where adv_campaign_id = $1', [c])
  assert.equal(n.rows[0].n, 6)
})

test('statistics of a campaign and of a restaurant, against hand-counted answers', async () => {
  const restaurant = randomUUID()
  const clients = Array.from({ length: 5 }, () => randomUUID())
  const [c1, c2, c3, c4] = clients as [string, string, string, string, string]
  const campaign = await pushed(restaurant, clients, { start: T - 100, end: T + 3600, trigger: T })
  const older = await pushed(restaurant, [c1], { start: T - 90000, end: T - 86400, trigger: T - 90000 })
  const otherRestaurant = await pushed(randomUUID(), [randomUUID()], { start: T - 100, end: T + 3600, trigger: T })
  await recordFeedback(
    fx.pool,
    [
      fb(campaign, c1, 'delivered', T + 10),
      fb(campaign, c1, 'opened', T + 20),
      fb(campaign, c1, 'opened', T + 25),
      fb(campaign, c2, 'delivered', T + 30),
      fb(campaign, c2, 'redeemed', T + 4000), // after the end: not counted
      fb(campaign, c3, 'dismissed', T + 5),
      fb(campaign, c4, 'clicked', T - 3), // device clock behind: counts as 0 s
      fb(campaign, c4, 'redeemed', T + 60),
      fb(older, c1, 'opened', T - 89000),
    ],
    'kafka',
  )
  const s = await campaignStats(fx.pool, campaign)
  assert.deepEqual(s, {
    campaignId: campaign,
    restaurantId: restaurant,
    content: `c ${campaign}`,
    start: T - 100,
    end: T + 3600,
    version: T - 100,
    versions: 1,
    cancelledAt: null,
    status: 'done',
    pushed: 5,
    suppressed: 0,
    feedback: { delivered: 2, opened: 1, clicked: 1, redeemed: 1, dismissed: 1 },
    responded: 3,
    responseRate: 3 / 5,
    // first feedback per client: c1 10, c2 30, c3 5, c4 0
    firstFeedbackSeconds: { p50: 7.5, avg: 11.25 },
  })
  assert.equal(await campaignStats(fx.pool, randomUUID()), null)

  const quiet = await campaignStats(fx.pool, otherRestaurant)
  assert.deepEqual([quiet?.pushed, quiet?.responded, quiet?.responseRate, quiet?.firstFeedbackSeconds], [1, 0, 0, { p50: null, avg: null }])

  const recent = await restaurantCampaigns(fx.pool, { restaurantId: restaurant, sinceSeconds: T - 3600 })
  assert.deepEqual(
    recent.map(r => r.campaignId),
    [campaign],
  )
  const all = await restaurantCampaigns(fx.pool, { restaurantId: restaurant, sinceSeconds: T - 100000 })
  assert.deepEqual(
    all.map(r => r.campaignId),
    [campaign, older],
    'newest first',
  )
  assert.equal(all[1]?.feedback.opened, 1)
  const everyone = await restaurantCampaigns(fx.pool, { sinceSeconds: T - 3600 })
  assert.ok(everyone.some(r => r.campaignId === otherRestaurant) && everyone.some(r => r.campaignId === campaign))
  assert.ok(!everyone.some(r => r.campaignId === older))
})

test("offerstream report prints one restaurant's campaigns as a table and as JSON; bad flags name themselves", async () => {
  const restaurant = randomUUID()
  const [a, b] = [randomUUID(), randomUUID()]
  const t = Math.floor(Date.now() / 1000)
  const campaign = await pushed(restaurant, [a, b], { start: t - 3600, end: t + 3600, trigger: t - 60 })
  await recordFeedback(fx.pool, [fb(campaign, a, 'delivered', t - 50), fb(campaign, a, 'redeemed', t - 30)], 'http')
  const cli = (...args: string[]): Promise<{ code?: number; stdout: string; stderr: string }> =>
    execFileAsync(process.execPath, [BIN, 'report', ...args], { env: { ...process.env, DATABASE_URL: fx.config.databaseUrl } }).catch(
      e => e,
    )
  const table = await cli('--restaurant', restaurant, '--since', '2d')
  const lines = table.stdout.split('\n')
  assert.match(lines[0] ?? '', new RegExp(`of restaurant ${restaurant} .*: 1$`))
  const header = lines[2]?.split(/\s{2,}/)
  const row = lines.find(l => l.startsWith(campaign))?.split(/\s{2,}/)
  assert.deepEqual(header, [
    'campaign',
    'start (UTC)',
    'version (UTC)',
    'status',
    'pushed',
    'capped',
    'delivered',
    'opened',
    'clicked',
    'redeemed',
    'dismissed',
    'responded',
    'rate',
    'first p50',
  ])
  assert.deepEqual(row?.slice(3), ['done', '2', '0', '1', '0', '0', '1', '0', '1', '50.0%', '10.0s'])
  const json = JSON.parse((await cli('--restaurant', restaurant.toUpperCase(), '--json')).stdout)
  assert.equal(json.length, 1)
  assert.deepEqual([json[0].campaignId, json[0].pushed, json[0].feedback.redeemed, json[0].responseRate], [campaign, 2, 1, 0.5])
  const wrong = await cli('--since', 'last week')
  assert.equal(wrong.code, 2)
  assert.match(wrong.stderr, /--since/)
})
