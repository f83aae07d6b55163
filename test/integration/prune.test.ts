import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { publishedCursors } from '../../src/kafka/published-cursor.ts'
import { recordFeedback } from '../../src/pg/sql/record-feedback.ts'
import type { Service } from '../../src/service/app.ts'
import { pruneBookkeeping } from '../../src/service/retention.ts'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'
import { eventually, runService } from '../../testkit/service.ts'
import { envFor } from '../../testkit/service-process.ts'

// Retention against the real service: prune, then re-send a pruned campaign with a new end, and
// check both sinks hold each (campaign, client) once. A second database without a service holds
// hand-made rows in every state, to show what prune must never touch.
let fx: Fixture
let bare: Fixture
let service: Service
before(async () => {
  ;[fx, bare] = await Promise.all([createFixture(), createFixture()])
  service = await runService(fx.config)
})
after(async () => {
  await service?.stop()
  await Promise.all([fx?.cleanup(), bare?.cleanup()])
})

const now = () => Math.floor(Date.now() / 1000)
const campaignJson = (restaurant: string, id: string, start: number, end: number) =>
  JSON.stringify({
    restaurant_id: restaurant,
    adv_campaign_id: id,
    adv_campaign_content: `c ${id}`,
    adv_campaign_datetime_start: start,
    adv_campaign_datetime_end: end,
  })
const count = async (f: Fixture, sql: string, values: unknown[] = []) => (await f.pool.query(sql, values)).rows[0].n as number
const clientsOf = async (campaign: string) =>
  (await fx.pool.query('select client_id from subscribers_feedback where adv_campaign_id = $1', [campaign])).rows.map(r => r.client_id)

/** Waits until every shard relay's committed cursor covers its shard's ranges and rejects written so far; returns them. */
async function allPublished() {
  const { rows } = await fx.pool.query<{ shard: number; push: number; dlq: number }>(
    `select s.shard, coalesce((select max(last_id) from offerstream_fanouts where shard = s.shard), 0)::int as push,
            coalesce((select max(id) from offerstream_rejects where shard = s.shard), 0)::int as dlq
     from offerstream_shards s`,
  )
  let cursors = await publishedCursors(fx.config)
  assert.ok(
    await eventually(async () => {
      cursors = await publishedCursors(fx.config)
      return rows.every(r => (cursors[r.shard]?.push ?? 0) >= r.push && (cursors[r.shard]?.dlq ?? 0) >= r.dlq)
    }),
    'relays published everything',
  )
  return cursors
}

test('a pruned campaign re-sent with a new end reaches only the clients that did not get it', async () => {
  const restaurant = randomUUID()
  const first = Array.from({ length: 5 }, () => randomUUID())
  await fx.addSubscribers(first.map(c => [c, restaurant]))
  const campaign = randomUUID()
  const other = randomUUID() // a second campaign of the same restaurant that stays live
  const t = now()
  const end = t + 700 // active: the default margin is 600 s
  await fx.produce([campaignJson(restaurant, campaign, t - 60, end), campaignJson(restaurant, other, t - 60, t + 7200), '{bad json'])
  assert.ok(await eventually(async () => (await clientsOf(campaign)).length === 5 && (await clientsOf(other)).length === 5))
  const published = await allPublished()

  // As if 30 days had passed since the end: the campaign's bookkeeping goes, the other's stays.
  const report = await pruneBookkeeping(fx.pool, { cutoff: end + 1, published, batch: 1, feedbackToo: false })
  assert.equal(report.events, 1)
  assert.equal(report.fanouts, 1)
  assert.equal(report.rejects, 1, 'the published reject is older than the cut-off')
  assert.equal(report.campaigns, 1, "the campaign's row goes with its last event (the re-send below starts a new one)")
  assert.equal(await count(fx, 'select count(*)::int as n from offerstream_events where adv_campaign_id = $1', [campaign]), 0)
  assert.equal(await count(fx, 'select count(*)::int as n from offerstream_events where adv_campaign_id = $1', [other]), 1)
  assert.equal(await count(fx, 'select count(*)::int as n from offerstream_fanouts where adv_campaign_id = $1', [campaign]), 0)
  assert.equal(await count(fx, 'select count(*)::int as n from offerstream_pruned_fanouts where adv_campaign_id = $1', [campaign]), 1)
  assert.equal(await count(fx, 'select count(*)::int as n from offerstream_rejects'), 0)
  assert.equal((await clientsOf(campaign)).length, 5, 'subscribers_feedback untouched without --feedback-too')

  // Three new subscribers, then the same campaign id again with a later end.
  const later = Array.from({ length: 3 }, () => randomUUID())
  await fx.addSubscribers(later.map(c => [c, restaurant]))
  await fx.produce([campaignJson(restaurant, campaign, t - 60, t + 7200)])
  assert.ok(await eventually(async () => (await clientsOf(campaign)).length >= 8))
  const rows = await clientsOf(campaign)
  assert.deepEqual([...rows].sort(), [...first, ...later].sort(), 'each client once in PostgreSQL')

  const pushes = await fx.readTopic(fx.config.outputTopic, { atLeast: 13, settleMs: 1500 })
  const ofCampaign = pushes.map(p => JSON.parse(p.value!.toString())).filter(v => v.adv_campaign_id === campaign)
  assert.deepEqual(ofCampaign.map(v => v.client_id).sort(), [...first, ...later].sort(), 'each client once in Kafka')
})

test('--feedback-too deletes the pruned campaigns feedback rows, nobody else', async () => {
  const restaurant = randomUUID()
  const clients = Array.from({ length: 4 }, () => randomUUID())
  await fx.addSubscribers(clients.map(c => [c, restaurant]))
  const old = randomUUID()
  const live = randomUUID()
  const t = now()
  await fx.produce([campaignJson(restaurant, old, t - 60, t + 650), campaignJson(restaurant, live, t - 60, t + 7200)])
  assert.ok(await eventually(async () => (await clientsOf(old)).length === 4 && (await clientsOf(live)).length === 4))
  const answer = (campaign: string, client: string) => ({
    adv_campaign_id: campaign,
    client_id: client,
    feedback: 'opened' as const,
    datetime_created: t,
  })
  const recorded = await recordFeedback(fx.pool, [answer(old, clients[0]!), answer(old, clients[1]!), answer(live, clients[0]!)], 'http')
  assert.deepEqual(
    recorded.map(r => r.outcome),
    ['recorded', 'recorded', 'recorded'],
  )
  const published = await allPublished()
  const before = await count(fx, 'select count(*)::int as n from subscribers_feedback')
  const report = await pruneBookkeeping(fx.pool, { cutoff: t + 651, published, batch: 3, feedbackToo: true })
  assert.ok(report.feedbackRows >= 4, JSON.stringify(report))
  assert.deepEqual(await clientsOf(old), [])
  assert.equal((await clientsOf(live)).length, 4)
  assert.equal(await count(fx, 'select count(*)::int as n from subscribers_feedback'), before - report.feedbackRows)
  assert.equal(await count(fx, 'select count(*)::int as n from offerstream_pruned_fanouts where campaign_end < $1', [t + 651]), 0)
  assert.equal(report.answers, 2)
  const answers = await fx.pool.query('select adv_campaign_id from offerstream_feedback')
  assert.deepEqual(
    answers.rows.map(r => r.adv_campaign_id),
    [live],
    "the live campaign's answers stay",
  )
})

test('pending, fanning, unpublished and recent bookkeeping is never pruned', async () => {
  const db = bare.pool
  const ev = async (status: string, end: number) =>
    (
      await db.query(
        `insert into offerstream_events (source_topic, source_partition, source_offset, restaurant_id, adv_campaign_id,
           adv_campaign_content, adv_campaign_datetime_start, adv_campaign_datetime_end, datetime_created, status, trigger_datetime_created)
         values ('t', 0, (select coalesce(max(source_offset), 0) + 1 from offerstream_events), $1, $2, 'x', 0, $3, 0, $4, 1)
         returning id, adv_campaign_id`,
        [randomUUID(), randomUUID(), end, status],
      )
    ).rows[0] as { id: number; adv_campaign_id: string }
  const fanout = (e: { id: number; adv_campaign_id: string }, first: number, last: number) =>
    db.query('insert into offerstream_fanouts values ($1, $2, $3, $4, $5)', [first, last, e.id, e.adv_campaign_id, last - first + 1])
  const pending = await ev('pending', 1000)
  const fanning = await ev('fanning', 1000)
  await fanout(fanning, 1, 10)
  const published = await ev('done', 1000)
  await fanout(published, 11, 20)
  await fanout(published, 21, 30)
  const recent = await ev('done', 5000)
  await fanout(recent, 31, 40)
  const unpublished = await ev('done', 1000)
  await fanout(unpublished, 41, 50) // past the cursor below
  const expired = await ev('expired', 1000)
  for (let i = 0; i < 4; i++) {
    await db.query(
      `insert into offerstream_rejects (source_topic, source_partition, source_offset, code, reason, received_at)
       values ('t', 0, $1, 'not_json', 'r', to_timestamp($2))`,
      [i, i < 3 ? 1000 : 5000],
    )
  }
  const maxReject = await count(bare, 'select max(id)::int as n from offerstream_rejects')
  const report = await pruneBookkeeping(db, { cutoff: 2000, published: [{ push: 45, dlq: maxReject - 2 }], batch: 2, feedbackToo: false })
  const left = (await db.query('select id from offerstream_events order by id')).rows.map(r => r.id)
  assert.deepEqual(left, [pending.id, fanning.id, recent.id, unpublished.id], JSON.stringify(report))
  assert.equal(report.events, 2, 'the published done event and the expired one')
  assert.ok(expired.id > 0)
  assert.equal(report.rejects, 2, 'only published rejects older than the cut-off')
  assert.equal(await count(bare, 'select count(*)::int as n from offerstream_rejects'), 2)

  // With the cursor behind a range, its event stays whole.
  const held = await ev('done', 1000)
  await fanout(held, 51, 60)
  await fanout(held, 61, 70)
  await pruneBookkeeping(db, { cutoff: 2000, published: [{ push: 65, dlq: 0 }], batch: 10, feedbackToo: false })
  assert.equal(await count(bare, 'select count(*)::int as n from offerstream_fanouts where event_id = $1', [held.id]), 2)
  assert.equal(await count(bare, 'select count(*)::int as n from offerstream_events where id = $1', [held.id]), 1)
  const spans = await bare.pool.query('select adv_campaign_id, first_id, last_id from offerstream_pruned_fanouts order by first_id')
  assert.deepEqual(
    spans.rows,
    [
      { adv_campaign_id: published.adv_campaign_id, first_id: 11, last_id: 30 },
      { adv_campaign_id: unpublished.adv_campaign_id, first_id: 41, last_id: 50 }, // published by now
    ],
    'one span per pruned event',
  )
})

test('the CLI reads the cursor from Kafka and prunes; --dry-run deletes nothing', async () => {
  const bin = fileURLToPath(new URL('../../bin/offerstream.js', import.meta.url))
  const run = (args: string[]) =>
    new Promise<{ code: number | null; out: string }>(resolve => {
      const child = spawn(process.execPath, [bin, 'prune', ...args], { env: envFor(fx.config) })
      let out = ''
      child.stdout.on('data', d => (out += d))
      child.stderr.on('data', d => (out += d))
      child.on('exit', code => resolve({ code, out }))
    })
  const bad = await run(['--older-than', '30 days'])
  assert.equal(bad.code, 2)
  assert.match(bad.out, /--older-than/)
  const badCancels = await run(['--older-than', '30d', '--cancels-older-than', 'a year'])
  assert.equal(badCancels.code, 2)
  assert.match(badCancels.out, /--cancels-older-than/)
  await fx.produce(['not json either'])
  assert.ok(await eventually(async () => (await count(fx, 'select count(*)::int as n from offerstream_rejects')) === 1))
  await allPublished()
  // The CLI's cut-off is whole seconds (now, floored, minus --older-than): a reject received in the
  // current second is not older than "0s" yet. Wait until the clock has left that second.
  const { rows } = await fx.pool.query<{ at: number }>('select extract(epoch from max(received_at))::float8 as at from offerstream_rejects')
  assert.ok(await eventually(async () => Math.floor(Date.now() / 1000) > rows[0]!.at))
  const dry = await run(['--older-than', '0s', '--dry-run', '--json'])
  assert.equal(dry.code, 0, dry.out)
  const preview = JSON.parse(dry.out.trim().split('\n').at(-1)!)
  assert.equal(preview.rejects, 1)
  assert.equal(typeof preview.campaigns, 'number', 'the dry run counts campaign rows too')
  assert.ok(preview.cancelCutoff <= preview.cutoff - 364 * 86400, 'cancels are kept a year by default')
  const longer = await run(['--older-than', '400d', '--dry-run', '--json'])
  const raised = JSON.parse(longer.out.trim().split('\n').at(-1)!)
  assert.equal(raised.cancelCutoff, raised.cutoff, 'a cancel is never kept for less than --older-than')
  assert.equal(await count(fx, 'select count(*)::int as n from offerstream_rejects'), 1, 'dry run deleted nothing')
  const real = await run(['--older-than', '0s', '--json'])
  assert.equal(real.code, 0, real.out)
  assert.equal(JSON.parse(real.out.trim().split('\n').at(-1)!).rejects, 1)
  assert.equal(await count(fx, 'select count(*)::int as n from offerstream_rejects'), 0)
})
