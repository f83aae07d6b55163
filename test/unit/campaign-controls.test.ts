import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { campaignStateAt } from '../../src/core/activity.ts'
import { restaurantRounds } from '../../src/core/campaign-rounds.ts'
import { decodeEvent } from '../../src/core/decode-event.ts'
import { createMetrics } from '../../src/metrics/metrics.ts'
import { Ingester } from '../../src/service/ingester.ts'
import { createLogger } from '../../src/service/logger.ts'
import { Writer } from '../../src/service/writer.ts'
import { FakeClock, FakeInput, FakeTopic, MemWriterStore, until } from './support/fakes.ts'

// The rules of cancel and update (issue 17) on the fake clock: the core's decisions, and the writer
// and ingest stage acting on them over the in-memory store, which mirrors the fan-out statement's
// check of the campaign's row (test/unit/support/fakes.ts).

const config = {
  activeMarginSeconds: 600,
  maxEventBytes: 65536,
  ingestBatch: 100,
  inputCommitIntervalMs: 0,
  fanoutChunk: 100,
  schedulerMaxSleepMs: 5000,
  retryMaxDelayMs: 5000,
  shards: 1,
}

function setup() {
  const clock = new FakeClock()
  const store = new MemWriterStore()
  const topic = new FakeTopic()
  const metrics = createMetrics()
  const log = createLogger('silent')
  const writer = new Writer({ store, config, log, metrics, clock, onWritten: () => {} })
  const ingester = new Ingester({
    store,
    config,
    log,
    metrics,
    clock,
    createInput: async () => new FakeInput(topic, clock),
    onStored: shards => {
      for (const [, stored] of shards) writer.wake(stored)
    },
  })
  const run = Promise.all([writer.run(), ingester.run()])
  const stop = async () => {
    writer.stop()
    ingester.stop()
    await run
  }
  const send = (v: Record<string, unknown>) => topic.send(Buffer.from(JSON.stringify(v)))
  return { clock, store, topic, metrics, writer, stop, send }
}

const version = (restaurant: string, campaign: string, start: number, end: number, created: number, content = 'promo') => ({
  restaurant_id: restaurant,
  adv_campaign_id: campaign,
  adv_campaign_content: content,
  adv_campaign_datetime_start: start,
  adv_campaign_datetime_end: end,
  datetime_created: created,
})
const cancel = (restaurant: string, campaign: string) => ({
  restaurant_id: restaurant,
  adv_campaign_id: campaign,
  adv_campaign_status: 'cancelled',
})

test('adv_campaign_status: absent, null or "active" is a campaign; "cancelled" needs only the ids; anything else names the field', () => {
  const opts = { maxBytes: 4096, recordTimestampMs: 0 }
  const ids = { restaurant_id: randomUUID(), adv_campaign_id: randomUUID().toUpperCase() }
  const base = { ...ids, adv_campaign_content: 'x', adv_campaign_datetime_start: 1, adv_campaign_datetime_end: 2 }
  for (const status of [undefined, null, 'active']) {
    const r = decodeEvent(Buffer.from(JSON.stringify({ ...base, adv_campaign_status: status })), opts)
    assert.ok(r.ok && 'campaign' in r, String(status))
  }
  const c = decodeEvent(Buffer.from(JSON.stringify({ ...ids, adv_campaign_status: 'cancelled' })), opts)
  assert.ok(c.ok && 'cancel' in c)
  assert.deepEqual(c.cancel, { restaurantId: ids.restaurant_id, campaignId: ids.adv_campaign_id.toLowerCase() })
  for (const status of ['paused', 'CANCELLED', 1, true]) {
    const r = decodeEvent(Buffer.from(JSON.stringify({ ...base, adv_campaign_status: status })), opts)
    assert.ok(!r.ok && r.rejection.code === 'schema' && r.rejection.reason.includes('adv_campaign_status'), String(status))
  }
  const noRestaurant = decodeEvent(
    Buffer.from(JSON.stringify({ adv_campaign_id: ids.adv_campaign_id, adv_campaign_status: 'cancelled' })),
    opts,
  )
  assert.ok(!noRestaurant.ok && noRestaurant.rejection.reason.includes('restaurant_id'))
})

test('the state of a stored campaign: a cancel overrides any window; no version yet cannot push', () => {
  assert.equal(campaignStateAt({ start: 1000, end: 5000, cancelled: true }, 2000, 600), 'cancelled')
  assert.equal(campaignStateAt({ start: 1000, end: 5000, cancelled: false }, 2000, 600), 'fanning')
  assert.equal(campaignStateAt({ start: 3000, end: 9000, cancelled: false }, 2000, 600), 'pending')
  assert.equal(campaignStateAt({ start: 1000, end: 2500, cancelled: false }, 2000, 600), 'expired')
  assert.equal(campaignStateAt({ start: null, end: null, cancelled: false }, 2000, 600), 'expired')
})

test('a batch naming one campaign with two restaurants is cut into rounds, in order; otherwise one round', () => {
  const n = (campaignId: string, restaurantId: string) => ({ campaignId, restaurantId })
  assert.equal(restaurantRounds([n('a', 'r1'), n('b', 'r2'), n('a', 'r1')], x => x).length, 1)
  assert.deepEqual(
    restaurantRounds([n('a', 'r1'), n('b', 'r2'), n('a', 'r2'), n('a', 'r2')], x => x),
    [
      [n('a', 'r1'), n('b', 'r2')],
      [n('a', 'r2'), n('a', 'r2')],
    ],
  )
  assert.deepEqual(
    restaurantRounds([], x => x),
    [],
  )
})

test('a cancel that arrives mid-fan-out stops it after the chunk in flight; the event ends cancelled', async () => {
  const t = setup()
  const restaurant = randomUUID()
  const campaign = randomUUID()
  t.store.subscribe(restaurant, 250)
  const now = t.clock.seconds
  let sent = false
  t.store.afterChunk = () => {
    if (!sent) t.send(cancel(restaurant, campaign))
    sent = true
  }
  t.send(version(restaurant, campaign, now - 60, now + 3600, now))
  await until(() => t.store.state.events[0]?.status === 'cancelled', 'the event to end cancelled')
  assert.equal(t.store.rowsOf(1), 100, 'the chunk in flight only')
  assert.equal(t.store.campaign(campaign).cancelled, true)
  await t.stop()
})

test('a cancel before a pending campaign starts: it never fans out, and a re-send does not revive it', async () => {
  const t = setup()
  const restaurant = randomUUID()
  const campaign = randomUUID()
  t.store.subscribe(restaurant, 50)
  const start = t.clock.seconds + 3
  t.send(version(restaurant, campaign, start, start + 3600, start))
  await until(() => t.store.state.events[0]?.status === 'pending', 'stored as pending')
  t.send(cancel(restaurant, campaign))
  await until(() => t.store.campaign(campaign).cancelled, 'the cancel stored')
  t.clock.advance(3000)
  await until(() => t.store.state.events[0]?.status === 'cancelled', 'cancelled when due')
  t.send(version(restaurant, campaign, start, start + 3600, start + 10))
  await until(() => t.store.state.events[1]?.status === 'cancelled', 'the re-send ends cancelled too')
  assert.equal(t.store.state.feedback.length, 0)
  await t.stop()
})

test('a cancel naming another restaurant is counted as rejected and changes nothing', async () => {
  const t = setup()
  const restaurant = randomUUID()
  const campaign = randomUUID()
  t.store.subscribe(restaurant, 50)
  const now = t.clock.seconds
  t.send(version(restaurant, campaign, now - 60, now + 3600, now))
  await until(() => t.store.state.events[0]?.status === 'done', 'fanned out')
  t.send(cancel(randomUUID(), campaign))
  const rejected = async () =>
    (await (
      await t.metrics.registry.getSingleMetric('offerstream_events_rejected_total')?.get()
    )?.values.find(v => v.labels.code === 'restaurant_mismatch')?.value) ?? 0
  for (let i = 0; i < 5000 && (await rejected()) === 0; i++) await new Promise(r => setImmediate(r))
  assert.equal(await rejected(), 1)
  assert.equal(t.store.campaign(campaign).cancelled, false)
  await t.stop()
})

test('an end moved earlier mid-fan-out expires it at the new end minus the margin', async () => {
  const t = setup()
  const restaurant = randomUUID()
  const campaign = randomUUID()
  t.store.subscribe(restaurant, 250)
  const now = t.clock.seconds
  let sent = false
  t.store.afterChunk = () => {
    if (!sent) t.send(version(restaurant, campaign, now - 60, now + 600 + 2, now + 1))
    sent = true
    // Each chunk takes "1 s": the new end minus the margin passes two seconds in.
    t.clock.advance(1000)
  }
  t.send(version(restaurant, campaign, now - 60, now + 3600, now))
  await until(() => t.store.state.events[0]?.status === 'expired', 'expired at the new end')
  assert.ok(t.store.rowsOf(1) >= 100 && t.store.rowsOf(1) <= 200, `stopped early: ${t.store.rowsOf(1)}`)
  await t.stop()
})

test('a start moved later mid-fan-out defers it: the writer sleeps until the new start, then resumes where it stopped', async () => {
  const t = setup()
  const restaurant = randomUUID()
  const campaign = randomUUID()
  t.store.subscribe(restaurant, 250)
  const now = t.clock.seconds
  let sent = false
  t.store.afterChunk = () => {
    if (!sent) t.send(version(restaurant, campaign, now + 60, now + 7200, now + 1))
    sent = true
  }
  t.send(version(restaurant, campaign, now - 60, now + 3600, now))
  await until(() => t.store.state.events[0]?.status === 'pending' && t.writer.idleMs !== undefined, 'deferred')
  assert.equal(t.store.rowsOf(1), 100)
  assert.ok((t.writer.idleMs ?? 0) <= 60_000, 'sleeps no longer than until the new start')
  t.clock.advance(60_000)
  await until(() => t.store.event(1).status === 'done', 'resumed at the new start')
  assert.equal(t.store.rowsOf(1), 250, 'resumed after the clients it had reached')
  await t.stop()
})
