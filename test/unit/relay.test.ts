import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { pushMessage } from '../../src/core/push-message.ts'
import { ErrorCodes, OfferstreamError } from '../../src/errors.ts'
import { createMetrics } from '../../src/metrics/metrics.ts'
import { rangeRows } from '../../src/pg/sql/relay-fanouts.ts'
import { createLogger } from '../../src/service/logger.ts'
import { Relay } from '../../src/service/relay.ts'
import { FakeBroker, FakeClock, MemRelayStore, until } from './support/fakes.ts'

const config = {
  relayBatch: 10,
  outputTopic: 'push',
  dlqTopic: 'dlq',
  feedbackTopic: 'fb',
  feedbackDlqTopic: 'fb-dlq',
  retryMaxDelayMs: 5000,
}

function setup(onPublished?: (pushed: number, drained: boolean) => void) {
  const clock = new FakeClock()
  const store = new MemRelayStore()
  const broker = new FakeBroker()
  const relay = new Relay({
    store,
    config,
    log: createLogger('silent'),
    metrics: createMetrics(),
    clock,
    createOutput: () => broker.output(),
    onPublished,
  })
  /** Push keys (client ids) consumers can see, in order. */
  const pushed = () => broker.committed.filter(m => m.topic === 'push').map(m => String(m.key))
  return { clock, store, broker, relay, pushed }
}

const unavailable = () => new OfferstreamError(ErrorCodes.KAFKA_UNAVAILABLE, 'Kafka unavailable: Connection closed', { retryable: true })

test('publishes committed rows in transactions of at most relayBatch, each with its cursor', async () => {
  const t = setup()
  const clients = [...t.store.addFanout(7), ...t.store.addFanout(8)]
  t.store.addReject()
  const run = t.relay.run()
  await until(() => t.broker.cursor.dlq === 1, 'everything published')
  assert.deepEqual(t.pushed(), clients)
  assert.deepEqual(t.broker.transactions, [10, 6])
  assert.deepEqual(t.broker.cursor, { push: 15, dlq: 1 })
  assert.equal(t.broker.committed.at(-1)?.topic, 'dlq')
  await t.relay.stop()
  await run
})

test('each push is the seed format around its client id, byte for byte, also with non-ASCII campaign text', async () => {
  for (const withRows of [false, true]) {
    const t = setup()
    t.store.withRows = withRows
    const clients = [...t.store.addFanout(3), ...t.store.addFanout(9)]
    for (const f of t.store.fanouts) f.campaign = { ...f.campaign, content: 'say "hi"\n\u{1F355} «акция»', owner: 'Ivanov' }
    const run = t.relay.run()
    await until(() => t.broker.cursor.push === 12, 'everything published')
    const expected = t.store.fanouts.flatMap(f =>
      t.store.feedback.filter(r => r.id >= f.firstId && r.id <= f.lastId).map(r => pushMessage(f.campaign, r.clientId, f.trigger)),
    )
    const pushes = t.broker.committed.filter(m => m.topic === 'push')
    assert.deepEqual(
      pushes.map(m => String(m.key)),
      clients,
    )
    assert.deepEqual(
      pushes.map(m => Buffer.from(m.value as Buffer).toString('utf8')),
      expected,
    )
    await t.relay.stop()
    await run
  }
})

test('tells after each transaction how many pushes it committed and whether it took all there was', async () => {
  const calls: Array<[number, boolean]> = []
  const t = setup((pushed, drained) => calls.push([pushed, drained]))
  t.store.addFanout(15)
  const run = t.relay.run()
  await until(() => t.broker.cursor.push === 15 && t.clock.waiting === 1, 'everything published, the relay idle')
  // The full batch may have left more behind; the second took the rest. An empty read says "drained" too.
  assert.deepEqual(calls.slice(0, 2), [
    [10, false],
    [5, true],
  ])
  assert.ok(calls.slice(2).every(([n, drained]) => n === 0 && drained))
  await t.relay.stop()
  await run
})

test('ranges read with their rows give the same transactions, without a read per range', async () => {
  const t = setup()
  t.store.withRows = true
  const clients = [...t.store.addFanout(4), ...t.store.addFanout(3), ...t.store.addFanout(7), ...t.store.addFanout(2)]
  const run = t.relay.run()
  await until(() => t.broker.cursor.push === 16, 'everything published')
  assert.deepEqual(t.pushed(), clients)
  assert.deepEqual(t.broker.transactions, [10, 6])
  // The first batch: ranges of 4 and 3 came with their rows, the third (7, past the budget of 10)
  // was read on its own; the second batch's two ranges (the rest of it, and 2) came with theirs.
  assert.equal(t.store.clientReads, 1)
  await t.relay.stop()
  await run
})

test('rejects are read when a wake may bring them or an idle poll comes, not after every fan-out', async () => {
  const t = setup()
  const run = t.relay.run()
  await until(() => t.clock.waiting === 1, 'the relay to idle')
  assert.equal(t.store.rejectReads, 1, 'the first read looks at everything')
  t.store.addFanout(3)
  t.relay.wake(false)
  await until(() => t.pushed().length === 3 && t.clock.waiting === 1, 'the fan-out published')
  assert.equal(t.store.rejectReads, 1, 'a fan-out wake reads no rejects')
  t.store.addReject()
  t.relay.wake()
  await until(() => t.broker.cursor.dlq === 1, 'a wake that may bring rejects reads them')
  await until(() => t.clock.waiting === 1, 'idle again')
  const reads = t.store.rejectReads
  t.store.addReject()
  t.relay.wake(false)
  await until(() => t.store.reads.length >= 4 && t.clock.waiting === 1, 'the fan-out wake handled')
  assert.equal(t.store.rejectReads, reads)
  assert.equal(t.broker.cursor.dlq, 1, 'a reject nobody announced waits for the poll')
  t.clock.advance(1000)
  await until(() => t.broker.cursor.dlq === 2, 'the idle poll reads rejects')
  await t.relay.stop()
  await run
})

test('an idle relay publishes on wake() at once, and without a wake after the idle poll', async () => {
  const t = setup()
  const run = t.relay.run()
  await until(() => t.clock.waiting === 1, 'the relay to idle')
  const first = t.store.addFanout(3)
  t.relay.wake()
  await until(() => t.pushed().length === 3, 'the woken relay to publish')
  await until(() => t.clock.waiting === 1, 'the relay to idle again')
  const second = t.store.addFanout(2)
  t.clock.advance(999)
  await until(() => t.clock.waiting === 1, 'still idle')
  assert.equal(t.pushed().length, 3)
  t.clock.advance(1)
  await until(() => t.pushed().length === 5, 'the poll to find the rows')
  assert.deepEqual(t.pushed(), [...first, ...second])
  await t.relay.stop()
  await run
})

/**
 * `rows` committed; the first transaction (10 rows) held in flight until the prefetch of the rest is
 * read; then 5 more rows and a wake; then everything published. What a wake does to the prefetch.
 */
async function wakeDuringPrefetch(rows: number) {
  const t = setup()
  const first = t.store.addFanout(rows)
  let open!: () => void
  t.broker.gate = new Promise(resolve => {
    open = resolve
  })
  const run = t.relay.run()
  await until(() => t.broker.publishing === 1 && t.store.reads.length === 2, 'the first publish and the prefetch')
  const second = t.store.addFanout(5)
  t.relay.wake()
  t.broker.gate = undefined
  open()
  await until(() => t.pushed().length === rows + 5, 'all rows published')
  return { t, rows: [...first, ...second], run }
}

test('a wake during a prefetched batch under half full discards it: no rows left behind, none twice', async () => {
  // The prefetch read the 4 rows behind the first 10: under half a batch.
  const { t, rows, run } = await wakeDuringPrefetch(14)
  assert.deepEqual(t.pushed(), rows)
  assert.deepEqual(t.broker.transactions, [10, 9], 'the stale 4-row prefetch was re-read after the wake')
  await t.relay.stop()
  await run
})

test('a wake during a prefetched batch half full or more publishes it as read, then reads on at once', async () => {
  const { t, rows, run } = await wakeDuringPrefetch(16)
  assert.deepEqual(t.pushed(), rows, 'each row once, in order')
  assert.deepEqual(t.broker.transactions, [10, 6, 5], 'the 6-row prefetch went out as read; the rows behind it next')
  assert.deepEqual(t.store.reads, [0, 10, 16], 'the prefetch was not read again')
  await t.relay.stop()
  await run
})

test('without a wake the prefetched batch is used as read', async () => {
  const t = setup()
  t.store.addFanout(15)
  const run = t.relay.run()
  await until(() => t.pushed().length === 15, 'all rows published')
  // The second batch came from the prefetch, not a second read at 10; it took everything there was,
  // so the relay went idle without an empty read at 15.
  assert.deepEqual(t.store.reads, [0, 10])
  await t.relay.stop()
  await run
})

test('after a failed transaction the relay rebuilds the producer and resumes from the committed cursor', async () => {
  const t = setup()
  t.clock.auto = true
  const clients = t.store.addFanout(25)
  // The first transaction commits, the second fails.
  t.broker.failures.push(null, new OfferstreamError(ErrorCodes.KAFKA_FAILED, 'Kafka error: INVALID_TXN_STATE', { retryable: true }))
  const errors: Array<string | undefined> = []
  const run = t.relay.run()
  await until(() => {
    errors.push(t.relay.lastError)
    return t.pushed().length === 25
  }, 'all rows published')
  assert.deepEqual(t.pushed(), clients, 'each row exactly once, in order')
  assert.equal(t.broker.opened, 2, 'a new producer incarnation after the failure')
  assert.ok(errors.some(e => e?.startsWith('KAFKA_FAILED')))
  // Reads: 0, prefetch 10, (failure) re-read from the committed cursor 10 rather than the prefetch's 20.
  assert.deepEqual(t.store.reads.slice(0, 4), [0, 10, 20, 10])
  await until(() => t.relay.lastError === undefined, 'lastError to clear')
  await t.relay.stop()
  await run
})

test('a fenced producer is replaced and the rows are published once', async () => {
  const t = setup()
  t.clock.auto = true
  const clients = t.store.addFanout(4)
  const run = t.relay.run()
  await until(() => t.pushed().length === 4, 'first rows')
  await t.broker.output().open() // another incarnation takes the transactional id
  const more = t.store.addFanout(4)
  t.relay.wake()
  await until(() => t.pushed().length === 8, 'rows after the fence')
  assert.deepEqual(t.pushed(), [...clients, ...more])
  assert.equal(t.broker.opened, 3)
  await t.relay.stop()
  await run
})

test('retryable failures back off exponentially up to the cap; PostgreSQL read failures too', async () => {
  const t = setup()
  t.clock.auto = true
  t.store.addFanout(1)
  for (let i = 0; i < 8; i++) t.broker.failures.push(unavailable())
  t.store.failures.push(new OfferstreamError(ErrorCodes.PG_UNAVAILABLE, 'PostgreSQL unavailable', { retryable: true }))
  const run = t.relay.run()
  await until(() => t.pushed().length === 1, 'the row after the outage')
  const ceilings = [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]
  for (const [i, ceiling] of ceilings.entries()) {
    const ms = t.clock.sleeps[i] ?? -1
    assert.ok(ms >= ceiling / 2 && ms <= ceiling, `backoff ${i}: ${ms} ms, ceiling ${ceiling}`)
  }
  await t.relay.stop()
  await run
})

test('a non-retryable failure ends run() with that error', async () => {
  const t = setup()
  t.store.addFanout(1)
  const refused = new OfferstreamError(ErrorCodes.KAFKA_FAILED, 'Kafka rejected the client: TOPIC_AUTHORIZATION_FAILED')
  t.broker.failures.push(refused)
  await assert.rejects(t.relay.run(), refused)
})

const never = () => new AbortController().signal

test('stop(drain) publishes everything committed, after the transaction in flight, then stops', async () => {
  const t = setup()
  const rows = t.store.addFanout(12)
  let open!: () => void
  t.broker.gate = new Promise(resolve => {
    open = resolve
  })
  const run = t.relay.run()
  await until(() => t.broker.publishing === 1, 'a transaction in flight')
  const more = t.store.addFanout(13) // committed by the writer before it stopped; no wake
  const stopped = t.relay.stop(never())
  t.broker.gate = undefined
  open()
  await stopped
  await run
  assert.deepEqual(t.pushed(), [...rows, ...more])
  assert.deepEqual(t.broker.cursor, { push: 25, dlq: 0 })
})

test('a drain gives up after its retries and leaves the rest to the next start', async () => {
  const t = setup()
  t.clock.auto = true
  t.store.addFanout(3)
  for (let i = 0; i < 10; i++) t.broker.failures.push(unavailable())
  await t.relay.stop(never())
  assert.equal(t.broker.failures.length, 5, 'one attempt and four retries')
  assert.deepEqual(t.broker.cursor, { push: 0, dlq: 0 })
  assert.match(t.relay.lastError ?? '', /Kafka unavailable/)
})

test('the drain deadline during a backoff ends the drain without another attempt', async () => {
  const t = setup()
  t.store.addFanout(3)
  t.broker.failures.push(unavailable(), unavailable())
  const deadline = new AbortController()
  const stopped = t.relay.stop(deadline.signal)
  await until(() => t.clock.waiting === 1, 'the drain to back off')
  deadline.abort()
  await stopped
  assert.equal(t.pushed().length, 0)
  assert.equal(t.broker.failures.length, 1, 'no attempt after the deadline')
})

test('the drain deadline cuts short a transaction that does not finish: stop() resolves', async () => {
  const t = setup()
  t.store.addFanout(3)
  t.broker.gate = new Promise(() => {}) // a broker that never answers
  const deadline = new AbortController()
  const stopped = t.relay.stop(deadline.signal)
  await until(() => t.broker.publishing === 1, 'the drain transaction in flight')
  deadline.abort()
  await stopped
  assert.equal(t.pushed().length, 0)
})

test('stop() without a drain cuts the transaction in flight short: the producer is closed under it', async () => {
  const t = setup()
  t.store.addFanout(3)
  let open!: () => void
  t.broker.gate = new Promise(resolve => {
    open = resolve
  })
  const run = t.relay.run()
  await until(() => t.broker.publishing === 1, 'a transaction in flight')
  const stopped = t.relay.stop()
  await until(() => t.broker.closed === 1, 'the producer closed while the transaction is in flight')
  open()
  await stopped
  await run
  assert.equal(t.broker.opened, 1, 'no new producer after stop')
})

test('a range read whose client-id text does not match its row count is refused, not published shifted', () => {
  const id = randomUUID()
  assert.deepEqual(rangeRows(2, 7, id + id), { count: 2, lastId: 7, clients: id + id })
  assert.deepEqual(rangeRows(0, null, null), { count: 0, lastId: 0, clients: '' })
  assert.throws(() => rangeRows(2, 7, id), /2 rows but 36 characters/)
})
