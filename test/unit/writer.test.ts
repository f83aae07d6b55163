import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { ErrorCodes, OfferstreamError } from '../../src/errors.ts'
import { createMetrics } from '../../src/metrics/metrics.ts'
import { Ingester } from '../../src/service/ingester.ts'
import { createLogger } from '../../src/service/logger.ts'
import { leadNow, SmallCampaigns } from '../../src/service/small-campaigns.ts'
import { Turns } from '../../src/service/turns.ts'
import { Unpublished } from '../../src/service/unpublished.ts'
import { Writer } from '../../src/service/writer.ts'
import { FakeClock, FakeInput, FakeTopic, MemWriterStore, until } from './support/fakes.ts'

const config = {
  activeMarginSeconds: 600,
  maxEventBytes: 65536,
  ingestBatch: 100,
  // Every stored batch commits its offsets at once, unless a test says otherwise.
  inputCommitIntervalMs: 0,
  fanoutChunk: 300,
  schedulerMaxSleepMs: 5000,
  retryMaxDelayMs: 5000,
  shards: 1,
}

// The ingest stage and one shard's writer over the same in-memory tables, wired as app.ts wires
// them: a stored batch wakes the shard's writer.
function setup(
  overrides: Partial<typeof config> = {},
  turns?: Turns,
  unpublished?: Unpublished | ((clock: FakeClock) => { unpublished: Unpublished; smallCampaigns: SmallCampaigns }),
  inShard = false,
) {
  const clock = new FakeClock()
  const lead = typeof unpublished === 'function' ? unpublished(clock) : { unpublished, smallCampaigns: undefined }
  const store = new MemWriterStore()
  const topic = new FakeTopic()
  const inputs: FakeInput[] = []
  const metrics = createMetrics()
  let written = 0
  let wakes = 0
  const log = createLogger('silent')
  const writer = new Writer({
    store,
    config: { ...config, ...overrides },
    log,
    metrics,
    clock,
    onWritten: () => written++,
    turns,
    unpublished: lead.unpublished,
    smallCampaigns: lead.smallCampaigns,
  })
  const ingester = new Ingester({
    store,
    config: { ...config, ...overrides },
    log,
    metrics,
    clock,
    createInput: async () => {
      const input = new FakeInput(topic, clock)
      inputs.push(input)
      return input
    },
    onStored: shards => {
      wakes++
      for (const [, stored] of shards) writer.wake(stored)
    },
    // As app.ts wires it, the shard running here.
    inShard: inShard ? (_shard, events) => writer.offer(tx => tx.storeEvents(events)) : undefined,
  })
  /** Runs both until stop() stops both. */
  const runBoth = () => Promise.all([writer.run(), ingester.run()])
  const stop = () => {
    writer.stop()
    ingester.stop()
  }
  const input = () => {
    const last = inputs.at(-1)
    assert.ok(last, 'no input created yet')
    return last
  }
  /** The writer has nothing to do and waits (for a wake or a start), and so does the ingest stage if it runs. */
  const idle = (ingesting = true) =>
    until(
      // Timers leave clock.waiting as soon as time passes them, before the sleeper runs again.
      () => writer.idleMs !== undefined && clock.waiting === (ingesting ? 2 : 1) && (!ingesting || (inputs.length > 0 && input().waiting)),
      'the writer and ingest to wait',
    )
  return { clock, store, topic, inputs, input, metrics, writer, ingester, runBoth, stop, idle, written: () => written, wakes: () => wakes }
}

const counter = async (metrics: ReturnType<typeof createMetrics>, name: string, labels: Record<string, string> = {}) => {
  const m = await metrics.registry.getSingleMetric(name)?.get()
  assert.ok(m, `metric ${name}`)
  return m.values.filter(v => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((a, v) => a + v.value, 0)
}

test('a campaign arriving before its start waits until exactly its start, then fans out', async () => {
  const t = setup()
  const restaurant = randomUUID()
  t.store.subscribe(restaurant, 50)
  const start = t.clock.seconds + 3
  const run = t.runBoth()
  t.topic.campaign({ restaurantId: restaurant, start, end: start + 3600 })
  await until(() => t.store.state.events.length === 1, 'the campaign to be stored')
  await t.idle()
  assert.equal(t.store.event(1).status, 'pending')
  assert.equal(t.writer.idleMs, 3000, 'sleeps until the start, not the 5 s re-check')
  t.clock.advance(2999)
  await t.idle()
  assert.equal(t.store.event(1).status, 'pending')
  t.clock.advance(1)
  await until(() => t.store.event(1).status === 'done', 'the fan-out')
  assert.equal(t.store.rowsOf(1), 50)
  assert.equal(t.store.event(1).trigger, start)
  assert.equal(await counter(t.metrics, 'offerstream_events_accepted_total', { disposition: 'early' }), 1)
  t.stop()
  await run
})

test('pending campaigns stored by an earlier run are promoted after a restart, re-checking every schedulerMaxSleepMs', async () => {
  const t = setup()
  const restaurant = randomUUID()
  t.store.subscribe(restaurant, 10)
  const now = t.clock.seconds
  t.store.addEvent({ restaurantId: restaurant, start: now - 60, end: now + 3600, status: 'pending' })
  t.store.addEvent({ restaurantId: restaurant, start: now + 12, end: now + 3600, status: 'pending' })
  t.store.addEvent({ restaurantId: restaurant, start: now - 3600, end: now + 300, status: 'pending' })
  const run = t.runBoth()
  await until(() => t.store.event(1).status === 'done', 'the overdue campaign to fan out at the first step')
  assert.equal(t.store.event(3).status, 'expired', 'past end minus margin when it came due')
  assert.equal(t.store.rowsOf(3), 0)
  assert.equal(t.store.event(1).trigger, now)
  for (const wait of [5000, 5000, 2000]) {
    await t.idle()
    assert.equal(t.writer.idleMs, wait)
    assert.equal(t.store.event(2).status, 'pending')
    t.clock.advance(wait)
  }
  await until(() => t.store.event(2).status === 'done', 'the second campaign at its start')
  assert.equal(t.store.event(2).trigger, now + 12)
  assert.equal(await counter(t.metrics, 'offerstream_campaigns_expired_total'), 1)
  t.stop()
  await run
})

test('a campaign stored behind the writer’s back is found within one schedulerMaxSleepMs', async () => {
  const t = setup({ schedulerMaxSleepMs: 700 })
  const restaurant = randomUUID()
  t.store.subscribe(restaurant, 5)
  const run = t.runBoth()
  await t.idle()
  assert.equal(t.writer.idleMs, 700)
  t.store.addEvent({ restaurantId: restaurant, start: t.clock.seconds - 1, end: t.clock.seconds + 3600, status: 'pending' })
  t.clock.advance(699)
  await t.idle()
  assert.equal(t.store.event(1).status, 'pending')
  t.clock.advance(1)
  await until(() => t.store.event(1).status === 'done', 'the re-check to promote it')
  t.stop()
  await run
})

test('fan-out shares transactions round robin: small campaigns are not held up by a big one', async () => {
  const t = setup({ fanoutChunk: 300 })
  const [big, small1, small2] = [randomUUID(), randomUUID(), randomUUID()]
  t.store.subscribe(big, 1000)
  t.store.subscribe(small1, 10)
  t.store.subscribe(small2, 10)
  const now = t.clock.seconds
  for (const r of [big, small1, small2]) t.topic.campaign({ restaurantId: r, start: now, end: now + 3600 })
  const run = t.runBoth()
  await until(() => t.store.state.events.every(e => e.status === 'done') && t.store.state.events.length === 3, 'every fan-out')
  assert.deepEqual(t.store.transactions, [
    [[1, 300]],
    [
      [2, 10],
      [3, 10],
      [1, 280],
    ],
    [[1, 300]],
    [[1, 120]],
  ])
  assert.equal(t.store.rowsOf(1), 1000)
  assert.equal(await counter(t.metrics, 'offerstream_pushes_written_total'), 1020)
  assert.ok(t.written() >= 4)
  t.stop()
  await run
})

test('a big campaign past its first chunk waits for the relay; small campaigns and first chunks do not', async () => {
  const unpublished = new Unpublished(500)
  const t = setup({ fanoutChunk: 300 }, undefined, unpublished)
  const [big, small, big2] = [randomUUID(), randomUUID(), randomUUID()]
  t.store.subscribe(big, 2000)
  t.store.subscribe(small, 10)
  t.store.subscribe(big2, 1000)
  const now = t.clock.seconds
  t.topic.campaign({ restaurantId: big, start: now, end: now + 3600 })
  const run = t.runBoth()
  // The first chunk goes whole; the second only fills the 500 rows the relay may lag by.
  await until(() => t.store.transactions.length === 2, 'two transactions')
  await t.idle()
  assert.deepEqual(t.store.transactions, [[[1, 300]], [[1, 200]]])
  assert.equal(unpublished.rows, 500)
  // Held, the writer neither writes nor spins: it waits like an idle one.
  assert.equal(t.writer.idleMs, config.schedulerMaxSleepMs)
  // A small campaign and another big one's first chunk are written at once, past the limit.
  t.topic.campaign({ restaurantId: small, start: now, end: now + 3600 })
  t.topic.campaign({ restaurantId: big2, start: now, end: now + 3600 })
  await until(
    () => t.store.state.events.length === 3 && t.store.event(2).status === 'done' && t.store.rowsOf(3) > 0,
    'the small one and a first chunk',
  )
  await t.idle()
  assert.equal(t.store.rowsOf(1), 500, 'still held')
  assert.equal(unpublished.rows, 510 + t.store.rowsOf(3))
  // The relay publishes some: the writer goes on with just the room there is.
  unpublished.published(unpublished.rows - 200, false)
  await until(() => unpublished.rows === 500, 'the room to be filled')
  await t.idle()
  // A relay that keeps up lets both finish, never more than 500 behind.
  await relayKeepsUp(
    t,
    unpublished,
    () => t.store.event(1).status === 'done' && t.store.event(3).status === 'done',
    () => assert.ok(unpublished.rows <= 500, `${unpublished.rows} rows behind`),
  )
  assert.equal(t.store.rowsOf(1), 2000)
  assert.equal(t.store.rowsOf(3), 1000)
  t.stop()
  await run
})

/** A relay that publishes everything as soon as it is written, until done(); afterEach runs once the writer idles after each chunk. */
async function relayKeepsUp(t: ReturnType<typeof setup>, unpublished: Unpublished, done: () => boolean, afterEach?: () => void) {
  while (!done()) {
    unpublished.published(unpublished.rows, true)
    await until(() => unpublished.rows > 0 || done(), 'the next chunk')
    await t.idle()
    afterEach?.()
  }
}

test('bigFanOut: from a commit that leaves a campaign unfinished until the writer idles; small campaigns never set it', async () => {
  const unpublished = new Unpublished(500)
  const t = setup({ fanoutChunk: 300 }, undefined, unpublished)
  const [small, big] = [randomUUID(), randomUUID()]
  t.store.subscribe(small, 10)
  t.store.subscribe(big, 1000)
  const now = t.clock.seconds
  t.topic.campaign({ restaurantId: small, start: now, end: now + 3600 })
  const run = t.runBoth()
  await until(() => t.store.state.events.length === 1 && t.store.event(1).status === 'done', 'the small campaign')
  await t.idle()
  assert.equal(t.writer.bigFanOut, false, 'a campaign done in its first chunk')
  unpublished.published(unpublished.rows, true)
  t.topic.campaign({ restaurantId: big, start: now, end: now + 3600 })
  // Held by the relay's lag after two chunks: under way, the writer waiting.
  await until(() => t.store.rowsOf(2) === 500, 'two chunks')
  await t.idle()
  assert.equal(t.writer.bigFanOut, true)
  await relayKeepsUp(t, unpublished, () => t.store.event(2).status === 'done')
  await until(() => !t.writer.bigFanOut, 'the writer to idle')
  assert.equal(t.store.rowsOf(2), 1000)
  t.stop()
  await run
})

test('after a small campaign is written, a big fan-out keeps to the shared lead', async () => {
  let unpublished!: Unpublished
  const t = setup({ fanoutChunk: 300 }, undefined, clock => {
    const smallCampaigns = new SmallCampaigns(clock)
    unpublished = new Unpublished(() => leadNow(500, 200, smallCampaigns))
    return { unpublished, smallCampaigns }
  })
  const [big, small] = [randomUUID(), randomUUID()]
  t.store.subscribe(big, 5000)
  t.store.subscribe(small, 10)
  const now = t.clock.seconds
  t.topic.campaign({ restaurantId: big, start: now, end: now + 3600 })
  const run = t.runBoth()
  await until(() => t.store.transactions.length === 2, 'the first two chunks')
  await t.idle()
  // No small campaign yet: the full lead of 500.
  assert.deepEqual(t.store.transactions, [[[1, 300]], [[1, 200]]])
  t.topic.campaign({ restaurantId: small, start: now, end: now + 3600 })
  await until(() => t.store.state.events.length === 2 && t.store.event(2).status === 'done', 'the small campaign')
  await t.idle()
  // The relay catches up: the big one now gets only the shared lead of 200.
  unpublished.published(unpublished.rows, true)
  await until(() => t.store.transactions.length === 4, 'the next big chunk')
  await t.idle()
  assert.deepEqual(t.store.transactions.slice(2), [[[2, 10]], [[1, 200]]])
  t.stop()
  await run
})

test('while the relay is behind, a big campaign’s first chunk is cut short, but never a 1,000-subscriber campaign', async () => {
  const unpublished = new Unpublished(500)
  const t = setup({ fanoutChunk: 5000 }, undefined, unpublished)
  const [big, small] = [randomUUID(), randomUUID()]
  t.store.subscribe(big, 3000)
  t.store.subscribe(small, 1000)
  const now = t.clock.seconds
  t.topic.campaign({ restaurantId: big, start: now, end: now + 3600 })
  const run = t.runBoth()
  await until(() => t.store.transactions.length === 1, 'the first chunk')
  await t.idle()
  t.topic.campaign({ restaurantId: small, start: now, end: now + 3600 })
  await until(() => t.store.state.events.length === 2 && t.store.event(2).status === 'done', 'the small campaign')
  await t.idle()
  assert.deepEqual(t.store.transactions, [[[1, 1001]], [[2, 1000]]])
  t.stop()
  await run
})

test('first chunks of campaigns sent once share one statement, 1,001 rows at most each; a re-sent campaign goes alone', async () => {
  const t = setup({ fanoutChunk: 10_000 })
  const now = t.clock.seconds
  const send = (subscribers: number, campaignId?: string, restaurantId = randomUUID()) => {
    t.store.subscribe(restaurantId, subscribers)
    t.topic.campaign({ restaurantId, campaignId, start: now, end: now + 3600 })
    return restaurantId
  }
  for (let i = 0; i < 4; i++) send(10)
  const twice = randomUUID()
  const restaurant = send(10, twice)
  t.topic.campaign({ restaurantId: restaurant, campaignId: twice, start: now, end: now + 3600 })
  send(10)
  send(10)
  send(3000)
  const run = t.runBoth()
  await until(() => t.store.state.events.length === 9 && t.store.state.events.every(e => e.status === 'done'), 'every fan-out')
  // Events 5 and 6 are one campaign (each must skip the other's clients): each has a statement of its own.
  assert.deepEqual(t.store.firstChunkBatches, [
    [1, 2, 3, 4],
    [7, 8, 9],
  ])
  // The big one's first chunk stops at 1,001 rows in the shared statement; the rest is its own next chunk.
  assert.deepEqual(t.store.transactions, [
    [
      [1, 10],
      [2, 10],
      [3, 10],
      [4, 10],
      [5, 10],
      [6, 10],
      [7, 10],
      [8, 10],
      [9, 1001],
    ],
    [[9, 1999]],
  ])
  t.stop()
  await run
})

test('a shared statement takes no more first chunks than the transaction’s budget covers at 1,001 rows each', async () => {
  const t = setup({ fanoutChunk: 3500 })
  const now = t.clock.seconds
  for (let i = 0; i < 5; i++) {
    const r = randomUUID()
    t.store.subscribe(r, 10)
    t.topic.campaign({ restaurantId: r, start: now, end: now + 3600 })
  }
  const run = t.runBoth()
  await until(() => t.store.state.events.length === 5 && t.store.state.events.every(e => e.status === 'done'), 'every fan-out')
  // 3 × 1,001 fit in 3,500; then 3,470 are left, which cover 3 more (two are left to take).
  assert.deepEqual(t.store.firstChunkBatches, [
    [1, 2, 3],
    [4, 5],
  ])
  assert.equal(t.store.transactions.length, 1)
  t.stop()
  await run
})

test('at most 64 campaigns share one fan-out transaction', async () => {
  const t = setup({ fanoutChunk: 100_000 })
  const now = t.clock.seconds
  for (let i = 0; i < 70; i++) {
    const r = randomUUID()
    t.store.subscribe(r, 2)
    t.topic.campaign({ restaurantId: r, start: now, end: now + 3600 })
  }
  const run = t.runBoth()
  await until(() => t.store.state.feedback.length === 140, 'every fan-out')
  assert.deepEqual(
    t.store.transactions.map(tx => tx.length),
    [64, 6],
  )
  t.stop()
  await run
})

test('a campaign that passes end minus margin during its fan-out stops there', async () => {
  const t = setup({ fanoutChunk: 100 })
  const restaurant = randomUUID()
  t.store.subscribe(restaurant, 250)
  const now = t.clock.seconds
  t.topic.campaign({ restaurantId: restaurant, start: now, end: now + 600 + 5 })
  // Each chunk takes "3 s": the campaign is past its last push (end - margin) after the second one.
  t.store.afterChunk = () => t.clock.advance(3000)
  const run = t.runBoth()
  await until(() => t.store.state.events[0]?.status === 'expired', 'the campaign to expire')
  assert.equal(t.store.rowsOf(1), 200)
  assert.equal(await counter(t.metrics, 'offerstream_campaigns_expired_total'), 1)
  t.stop()
  await run
})

test('retryable store failures back off exponentially, report lastError, then recover', async () => {
  const t = setup()
  t.clock.auto = true
  const restaurant = randomUUID()
  t.store.subscribe(restaurant, 3)
  t.store.addEvent({ restaurantId: restaurant, start: t.clock.seconds, end: t.clock.seconds + 3600, status: 'fanning' })
  const down = () => new OfferstreamError(ErrorCodes.PG_UNAVAILABLE, 'PostgreSQL unavailable: ECONNREFUSED', { retryable: true })
  t.store.failures.push(down(), down(), down())
  const errors: Array<string | undefined> = []
  const run = t.writer.run()
  await until(() => {
    errors.push(t.writer.lastError)
    return t.store.rowsOf(1) === 3
  }, 'the fan-out after the outage')
  assert.ok(errors.some(e => e?.startsWith('PG_UNAVAILABLE')))
  for (const [i, ceiling] of [100, 200, 400].entries()) {
    const ms = t.clock.sleeps[i] ?? -1
    assert.ok(ms >= ceiling / 2 && ms <= ceiling, `backoff ${i}: ${ms} ms, ceiling ${ceiling}`)
  }
  assert.equal(await counter(t.metrics, 'offerstream_retries_total', { component: 'writer', code: 'PG_UNAVAILABLE' }), 3)
  await until(() => t.writer.lastError === undefined, 'lastError to clear')
  t.stop()
  await run
})

test('a Kafka failure rebuilds the consumer, which resumes from the committed offsets', async () => {
  const t = setup()
  t.clock.auto = true
  const restaurant = randomUUID()
  t.store.subscribe(restaurant, 3)
  const now = t.clock.seconds
  t.topic.campaign({ restaurantId: restaurant, start: now, end: now + 3600 })
  const run = t.runBoth()
  await until(() => t.topic.committed === 1n, 'the first offset commit')
  t.input().failTake = new OfferstreamError(ErrorCodes.KAFKA_UNAVAILABLE, 'Kafka unavailable', { retryable: true })
  t.topic.campaign({ restaurantId: restaurant, start: now, end: now + 3600 })
  await until(() => t.inputs.length === 2 && t.store.state.events.length === 2, 'a new consumer to store the second campaign')
  assert.ok(t.inputs[0]?.closed)
  assert.equal(t.store.rowsOf(2), 3)
  t.stop()
  await run
})

test('input offsets are committed at most once per interval, and a quiet input gets its last ones when the interval is up', async () => {
  const t = setup({ inputCommitIntervalMs: 500 })
  const restaurant = randomUUID()
  t.store.subscribe(restaurant, 2)
  const now = t.clock.seconds
  t.topic.campaign({ restaurantId: restaurant, start: now, end: now + 3600 })
  const run = t.runBoth()
  await until(() => t.topic.committed === 1n, 'the first batch committed at once: no commit yet in this interval')
  t.topic.campaign({ restaurantId: restaurant, start: now, end: now + 3600 })
  t.input().interrupt()
  await until(() => t.store.state.events.length === 2 && t.input().waiting, 'the second campaign stored, the input waiting again')
  assert.equal(t.topic.committed, 1n, 'not committed within the interval')
  assert.ok((t.input().takes.at(-1) ?? Infinity) <= 500, 'the take waits no longer than until the commit is due')
  t.clock.advance(500)
  await until(() => t.topic.committed === 2n, 'committed once the interval was up')
  assert.equal(t.store.rowsOf(2), 2)
  t.stop()
  await run
})

test('a redelivered batch is stored once and counted as redelivered', async () => {
  const t = setup()
  const restaurant = randomUUID()
  t.store.subscribe(restaurant, 1)
  t.topic.campaign({ restaurantId: restaurant, start: t.clock.seconds, end: t.clock.seconds + 3600 })
  t.topic.send(Buffer.from('not json'))
  let run = t.runBoth()
  await t.idle()
  t.stop()
  await run
  // The offsets were never committed, as after a crash between the store and the commit.
  t.topic.committed = 0n
  const again = setup()
  Object.assign(again.store, { state: t.store.state, subscribers: t.store.subscribers })
  again.topic.records = t.topic.records
  run = again.runBoth()
  await again.idle()
  assert.equal(again.store.state.events.length, 1)
  assert.equal(again.store.state.rejects.length, 1)
  assert.equal(await counter(again.metrics, 'offerstream_events_redelivered_total'), 2)
  again.stop()
  await run
})

test('a non-retryable failure ends the ingest stage with that error and closes the input', async () => {
  const t = setup()
  t.topic.campaign({ restaurantId: randomUUID(), start: t.clock.seconds, end: t.clock.seconds + 3600 })
  const broken = new OfferstreamError(ErrorCodes.PG_FAILED, 'PostgreSQL 42P01: relation does not exist')
  t.store.failures.push(broken)
  await assert.rejects(t.ingester.run(), broken)
  assert.ok(t.inputs[0]?.closed)
  assert.equal(t.store.state.events.length, 0)
})

test('a shard taken over by another instance ends its writer with SHARD_LOST, not a retry', async () => {
  const t = setup()
  const lost = new OfferstreamError(ErrorCodes.SHARD_LOST, 'shard 0 was taken over (epoch 2, ours 1)')
  t.store.failures.push(lost)
  await assert.rejects(t.writer.run(), lost)
  assert.equal(t.clock.sleeps.length, 0, 'no backoff')
})

test('a wake ends the idle wait at once: a campaign stored by the ingest stage fans out without time passing', async () => {
  const t = setup()
  const restaurant = randomUUID()
  t.store.subscribe(restaurant, 4)
  const run = t.writer.run()
  await t.idle(false)
  assert.equal(t.writer.idleMs, 5000)
  const before = t.clock.now()
  t.store.addEvent({ restaurantId: restaurant, start: t.clock.seconds, end: t.clock.seconds + 3600, status: 'fanning' })
  t.writer.wake()
  await until(() => t.store.rowsOf(1) === 4, 'the fan-out after the wake')
  assert.equal(t.clock.now(), before)
  t.writer.stop()
  await run
})

test('stop() during a take or an idle wait ends run() at once, without waiting for the take or any time to pass', async () => {
  const t = setup()
  const run = t.runBoth()
  await t.idle()
  const before = t.clock.now()
  t.stop()
  await run
  assert.equal(t.clock.now(), before)
  assert.ok(t.input().closed)
})

test('stop() during a backoff ends run() without another attempt', async () => {
  const t = setup()
  t.store.failures.push(new OfferstreamError(ErrorCodes.PG_UNAVAILABLE, 'down', { retryable: true }))
  const run = t.writer.run()
  await until(() => t.clock.waiting === 1 && t.writer.lastError !== undefined, 'the backoff')
  t.writer.stop()
  await run
  assert.equal(t.store.failures.length, 0)
  assert.equal(t.clock.sleeps.length, 1, 'no attempt after the backoff')
})

test('a wake that comes while a fan-out transaction finds nothing is not lost', async () => {
  const t = setup()
  const restaurant = randomUUID()
  t.store.subscribe(restaurant, 6)
  let transactions = 0
  // The first step re-checks due campaigns, then looks for fan-outs (transaction 2) and finds none;
  // a campaign commits right after that look, and its wake arrives before the writer goes idle.
  t.store.afterTransaction = () => {
    if (++transactions !== 2) return
    t.store.addEvent({ restaurantId: restaurant, start: t.clock.seconds, end: t.clock.seconds + 3600, status: 'fanning' })
    t.writer.wake({ fanning: true, pendingStart: null })
  }
  const before = t.clock.now()
  const run = t.writer.run()
  await until(() => t.store.rowsOf(1) === 6, 'the fan-out of the campaign woken about')
  assert.equal(t.clock.now(), before, 'without waiting for the periodic re-check')
  t.writer.stop()
  await run
})

test('a fan-out waits for a turn shared with the other shard writers, then runs', async () => {
  const turns = new Turns(1)
  const held = await turns.take()
  const t = setup({}, turns)
  const restaurant = randomUUID()
  t.store.subscribe(restaurant, 50)
  const run = t.runBoth()
  t.topic.campaign({ restaurantId: restaurant, start: t.clock.seconds - 1, end: t.clock.seconds + 3600 })
  // Stored by the ingest stage, but another shard's writer holds the only turn: nothing written.
  await until(() => t.store.state.events.length === 1, 'the campaign stored')
  // Event-loop turns, not time: the in-memory store answers within a few, had the writer gone ahead.
  for (let i = 0; i < 50; i++) await new Promise(r => setImmediate(r))
  assert.equal(t.written(), 0)
  held()
  await until(() => t.written() > 0, 'the fan-out after the turn came')
  t.stop()
  await run
})

test('a campaign of a shard running here is stored by its writer, in the transaction that fans it out: one transaction, no wake', async () => {
  const t = setup({}, new Turns(1), undefined, true)
  const restaurant = randomUUID()
  t.store.subscribe(restaurant, 120)
  const run = t.runBoth()
  await t.idle()
  const begun = t.store.begun
  t.topic.campaign({ restaurantId: restaurant, start: t.clock.seconds, end: t.clock.seconds + 3600 })
  await until(() => t.store.state.events.length === 1 && t.store.event(1).status === 'done', 'the fan-out')
  await t.idle()
  assert.equal(t.store.begun - begun, 1, 'stored and fanned out in one transaction')
  assert.equal(t.store.rowsOf(1), 120)
  assert.equal(t.wakes(), 0, 'the ingest stage woke nobody')
  assert.equal(t.written(), 1, 'the relay was told')
  t.stop()
  await run
})

test('a writer without a free turn is passed by: the batch is stored on its own, the writer woken, each client pushed once', async () => {
  const turns = new Turns(1)
  const t = setup({}, turns, undefined, true)
  const restaurant = randomUUID()
  t.store.subscribe(restaurant, 40)
  const run = t.runBoth()
  await t.idle()
  const endTurn = turns.tryTake()
  assert.ok(endTurn, 'the only turn')
  const begun = t.store.begun
  t.topic.campaign({ restaurantId: restaurant, start: t.clock.seconds, end: t.clock.seconds + 3600 })
  await until(() => t.store.state.events.length === 1 && t.wakes() === 1, 'the batch stored the plain way, and the wake')
  assert.equal(t.store.begun - begun, 1, 'the ingest transaction only: the writer waits for the turn')
  assert.equal(t.store.rowsOf(1), 0)
  endTurn()
  await until(() => t.store.event(1).status === 'done', 'the fan-out once the turn is back')
  assert.equal(t.store.rowsOf(1), 40)
  t.stop()
  await run
})

test('a shard transaction that fails leaves the batch to the plain store: stored once, fanned out once', async () => {
  const t = setup({}, new Turns(1), undefined, true)
  const restaurant = randomUUID()
  t.store.subscribe(restaurant, 30)
  const run = t.runBoth()
  await t.idle()
  t.store.failures.push(new OfferstreamError(ErrorCodes.PG_UNAVAILABLE, 'down', { retryable: true }))
  t.topic.campaign({ restaurantId: restaurant, start: t.clock.seconds, end: t.clock.seconds + 3600 })
  await until(() => t.store.state.events.length === 1 && t.wakes() === 1, 'the plain store after the failed shard transaction')
  // The writer retries its own step after a backoff.
  await until(() => {
    t.clock.advance(100)
    return t.store.event(1).status === 'done'
  }, 'the writer to fan it out after its backoff')
  assert.equal(t.store.state.events.length, 1)
  assert.equal(t.store.rowsOf(1), 30)
  assert.equal(new Set(t.store.state.feedback.map(f => f.clientId)).size, 30, 'each client once')
  t.stop()
  await run
})

test('a shard lock held by another transaction is not waited for: the batch is stored on its own, and fanned out once the lock is free', async () => {
  const t = setup({}, new Turns(1), undefined, true)
  const restaurant = randomUUID()
  t.store.subscribe(restaurant, 25)
  const run = t.runBoth()
  await t.idle()
  t.store.lockBusy = true
  t.topic.campaign({ restaurantId: restaurant, start: t.clock.seconds, end: t.clock.seconds + 3600 })
  await until(() => t.store.state.events.length === 1 && t.wakes() === 1, 'the plain store and its wake')
  t.store.lockBusy = false
  await until(() => t.store.event(1).status === 'done', 'the fan-out by the woken writer')
  assert.equal(t.store.rowsOf(1), 25)
  assert.equal(t.writer.lastError, undefined, 'a busy lock is not a failure of the writer')
  t.stop()
  await run
})

test("a joint ingest transaction's fan-out counts as the writer's own, and wakes it only for what it left", async () => {
  const t = setup()
  const run = t.writer.run()
  await t.idle(false)
  const begun = t.store.begun
  // All finished: the relay is told, the writer stays idle.
  t.writer.fannedOut({
    done: [{ inserted: 7, suppressed: 0, campaignId: randomUUID(), shard: 0, finished: true, small: true }],
    exhausted: true,
  })
  assert.equal(t.written(), 1, 'the relay is woken for the rows')
  assert.equal(await counter(t.metrics, 'offerstream_pushes_written_total'), 7)
  await t.idle(false)
  assert.equal(t.store.begun, begun, 'no transaction of its own')
  // A campaign left fanning (its first chunk was cut short): the writer goes on with it.
  const restaurant = randomUUID()
  t.store.subscribe(restaurant, 40)
  const left = t.store.addEvent({ restaurantId: restaurant, start: t.clock.seconds - 1, end: t.clock.seconds + 3600, status: 'fanning' })
  t.writer.fannedOut({ done: [{ inserted: 0, suppressed: 0, campaignId: left.campaignId, shard: 0, finished: false }], exhausted: true })
  await until(() => t.store.event(left.id).status === 'done', 'the writer to finish what the joint transaction left')
  assert.equal(t.store.rowsOf(left.id), 40)
  // Campaigns the joint round did not reach (exhausted false) are looked for too.
  const other = randomUUID()
  t.store.subscribe(other, 3)
  const unreached = t.store.addEvent({ restaurantId: other, start: t.clock.seconds - 1, end: t.clock.seconds + 3600, status: 'fanning' })
  await t.idle(false)
  t.writer.fannedOut({ done: [], exhausted: false })
  await until(() => t.store.event(unreached.id).status === 'done', 'the campaign the joint round did not reach')
  t.stop()
  await run
})
