import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { ErrorCodes, OfferstreamError } from '../../src/errors.ts'
import { createMetrics } from '../../src/metrics/metrics.ts'
import { FeedbackIntake } from '../../src/service/feedback-intake.ts'
import { createLogger } from '../../src/service/logger.ts'
import { FakeClock, FakeInput, FakeTopic, MemFeedbackStore, until } from './support/fakes.ts'

const config = { ingestBatch: 100, inputCommitIntervalMs: 0, retryMaxDelayMs: 5000, shards: 4 }

function setup(overrides: Partial<typeof config> = {}) {
  const clock = new FakeClock()
  const store = new MemFeedbackStore()
  const topic = new FakeTopic()
  const inputs: FakeInput[] = []
  const metrics = createMetrics()
  let rejectedWakes = 0
  const intake = new FeedbackIntake({
    store,
    config: { ...config, ...overrides },
    log: createLogger('silent'),
    metrics,
    clock,
    createInput: async () => {
      const input = new FakeInput(topic, clock)
      inputs.push(input)
      return input
    },
    onRejected: () => rejectedWakes++,
  })
  const input = () => {
    const last = inputs.at(-1)
    assert.ok(last, 'no input created yet')
    return last
  }
  /** Sends feedback for a push; `sent`: whether that push exists. */
  const feedback = (kind = 'opened', sent = true) => {
    const [campaign, client] = [randomUUID(), randomUUID()]
    if (sent) store.pushes.add(`${campaign}/${client}`)
    const value = { adv_campaign_id: campaign, client_id: client, feedback: kind, datetime_created: clock.seconds }
    return topic.send(Buffer.from(JSON.stringify(value)))
  }
  const outcomes = async () => {
    const m = await metrics.registry.getSingleMetric('offerstream_feedback_total')?.get()
    // Every (source, outcome) series exists from the start at 0: only the intake's non-zero ones count here.
    const kafka = (m?.values ?? []).filter(v => v.labels.source === 'kafka' && v.value > 0)
    return Object.fromEntries(kafka.map(v => [v.labels.outcome, v.value]))
  }
  return { clock, store, topic, inputs, input, intake, feedback, outcomes, rejectedWakes: () => rejectedWakes }
}

test('a batch is stored in one transaction: feedback recorded, malformed records and unknown pushes rejected, the relays woken', async () => {
  const t = setup()
  t.feedback()
  t.feedback('clicked')
  t.feedback('opened', false)
  t.topic.send(Buffer.from('not json'))
  const run = t.intake.run()
  await until(() => t.topic.committed === 4n, 'the batch committed')
  assert.equal(t.store.transactions, 1)
  assert.equal(t.store.recorded.length, 2)
  assert.deepEqual(t.store.rejects.map(r => [r.offset, r.rejection.code]).sort(), [
    ['2', 'unknown_push'],
    ['3', 'not_json'],
  ])
  assert.deepEqual(await t.outcomes(), { recorded: 2, unknown_push: 1, invalid: 1 })
  assert.equal(t.rejectedWakes(), 1)
  await t.intake.stop()
  await run
})

test('offsets are committed on the ingest interval, and a quiet input gets its last ones when the interval is up', async () => {
  const t = setup({ inputCommitIntervalMs: 500 })
  t.feedback()
  const run = t.intake.run()
  await until(() => t.topic.committed === 1n, 'the first batch committed at once: no commit yet in this interval')
  t.feedback()
  await until(() => t.store.recorded.length === 2 && t.input().waiting, 'the second batch stored, the input waiting again')
  assert.equal(t.topic.committed, 1n, 'not committed within the interval')
  assert.ok((t.input().takes.at(-1) ?? Infinity) <= 500, 'the take waits no longer than until the commit is due')
  t.clock.advance(500)
  await until(() => t.topic.committed === 2n, 'committed once the interval was up')
  assert.equal(t.store.transactions, 2)
  await t.intake.stop()
  await run
})

test('a failed transaction drops the consumer; the new one redelivers the batch, which is stored once', async () => {
  const t = setup()
  t.clock.auto = true
  t.store.failures.push(new OfferstreamError(ErrorCodes.PG_UNAVAILABLE, 'connection refused', { retryable: true }))
  t.feedback()
  const run = t.intake.run()
  await until(() => t.inputs.length === 2 && t.topic.committed === 1n, 'a new consumer to store the batch')
  assert.ok(t.inputs[0]?.closed)
  assert.equal(t.store.recorded.length, 1)
  assert.equal(t.intake.lastError, undefined, 'cleared by the success')
  await t.intake.stop()
  await run
})

test('stop() during a take ends run() at once, commits the waiting offsets and closes the input', async () => {
  const t = setup({ inputCommitIntervalMs: 60_000 })
  t.feedback()
  const run = t.intake.run()
  // The first batch commits at once; the second waits for the interval.
  await until(() => t.topic.committed === 1n, 'the first commit')
  t.feedback()
  await until(() => t.store.recorded.length === 2 && t.input().waiting, 'the second batch stored, the input waiting')
  const before = t.clock.now()
  await t.intake.stop()
  await run
  assert.equal(t.clock.now(), before)
  assert.equal(t.topic.committed, 2n)
  assert.ok(t.input().closed)
})

test('a non-retryable failure ends run() with that error and closes the input', async () => {
  const t = setup()
  const broken = new OfferstreamError(ErrorCodes.PG_FAILED, 'relation does not exist')
  t.store.failures.push(broken)
  t.feedback()
  await assert.rejects(t.intake.run(), broken)
  assert.ok(t.input().closed)
  assert.equal(t.topic.committed, 0n)
})
