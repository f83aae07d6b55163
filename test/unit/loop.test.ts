import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ErrorCodes, OfferstreamError } from '../../src/errors.ts'
import { createMetrics } from '../../src/metrics/metrics.ts'
import { createLogger } from '../../src/service/logger.ts'
import { Loop, type LoopOptions } from '../../src/service/loop.ts'
import { FakeClock, until } from './support/fakes.ts'

const down = () => new OfferstreamError(ErrorCodes.PG_UNAVAILABLE, 'connection refused', { retryable: true })

/** A loop whose steps the test scripts: each returns the next planned result, or throws it. */
function setup(overrides: Partial<LoopOptions> = {}) {
  const clock = new FakeClock()
  const metrics = createMetrics()
  const plan: Array<number | undefined | Error> = []
  const events: string[] = []
  let steps = 0
  /** When set, a step waits for it: a step in flight. */
  let gate: Promise<void> | undefined
  const loop = new Loop({
    component: 'writer',
    step: async () => {
      steps++
      await gate
      const next = plan.shift()
      if (next instanceof Error) throw next
      // With nothing planned the loop idles for a second, like a quiet writer.
      return plan.length === 0 && next === undefined ? 1000 : next
    },
    clock,
    log: createLogger('silent'),
    metrics,
    retryMaxDelayMs: 5000,
    retryMessage: 'step failed; retrying',
    onRetry: e => {
      events.push(`retry ${e.code}`)
    },
    afterIdle: woken => events.push(woken ? 'woken' : 'idle over'),
    finish: async () => {
      events.push('finish')
    },
    ...overrides,
  })
  const retries = async () => {
    const m = await metrics.registry.getSingleMetric('offerstream_retries_total')?.get()
    return m?.values.filter(v => v.labels.component === 'writer').reduce((a, v) => a + v.value, 0) ?? 0
  }
  return {
    clock,
    loop,
    plan,
    events,
    retries,
    steps: () => steps,
    hold: () => {
      let open!: () => void
      gate = new Promise(resolve => {
        open = resolve
      })
      return () => {
        gate = undefined
        open()
      }
    },
  }
}

test('a retryable failure backs off, sets lastError and counts a retry; the next success clears it', async () => {
  const t = setup()
  t.plan.push(down(), down())
  const run = t.loop.run()
  await until(() => t.clock.waiting === 1 && t.events.length === 1, 'the first backoff')
  assert.equal(t.loop.lastError, 'PG_UNAVAILABLE: connection refused')
  assert.deepEqual(t.events, ['retry PG_UNAVAILABLE'])
  t.clock.advance(t.clock.sleeps.at(-1)!)
  await until(() => t.events.length === 2 && t.clock.waiting === 1, 'the second backoff')
  assert.ok(t.clock.sleeps[1]! >= 100 && t.clock.sleeps[1]! <= 200, 'the backoff grows')
  t.clock.advance(t.clock.sleeps.at(-1)!)
  await until(() => t.loop.idleMs === 1000, 'the idle wait after a success')
  assert.equal(t.loop.lastError, undefined)
  assert.equal(await t.retries(), 2)
  await t.loop.stop()
  await run
  assert.deepEqual(t.events, ['retry PG_UNAVAILABLE', 'retry PG_UNAVAILABLE', 'finish'])
})

test('a non-retryable failure ends run() with it, after finish; stop() afterwards resolves', async () => {
  const t = setup()
  const broken = new OfferstreamError(ErrorCodes.PG_FAILED, 'relation does not exist')
  t.plan.push(broken)
  await assert.rejects(t.loop.run(), broken)
  assert.deepEqual(t.events, ['finish'])
  assert.equal(t.clock.sleeps.length, 0, 'no backoff')
  await t.loop.stop()
})

test('the idle wait lasts what the step asked unless woken; a wake ends it without time passing', async () => {
  const t = setup()
  t.plan.push(3000)
  const run = t.loop.run()
  await until(() => t.loop.idleMs === 3000, 'the idle wait')
  t.clock.advance(3000)
  await until(() => t.loop.idleMs === 1000, 'the next idle wait')
  assert.deepEqual(t.events, ['idle over'])
  const before = t.clock.now()
  t.loop.wake()
  await until(() => t.events.length === 2, 'the wake')
  assert.deepEqual(t.events, ['idle over', 'woken'])
  assert.equal(t.clock.now(), before)
  await t.loop.stop()
  await run
})

test('a wake during a step is not lost: the next idle wait returns at once, and look() is what clears it', async () => {
  const t = setup()
  const release = t.hold()
  const run = t.loop.run()
  await until(() => t.steps() === 1, 'a step in flight')
  t.loop.wake()
  assert.equal(t.loop.woken, true)
  release()
  await until(() => t.events.length === 1, 'the first idle')
  assert.deepEqual(t.events, ['woken'])
  await until(() => t.loop.idleMs === 1000, 'the second idle wait')
  assert.deepEqual(t.clock.sleeps, [1000], 'only the second idle wait sleeps')
  t.loop.wake()
  assert.equal(t.loop.look(), true)
  assert.equal(t.loop.look(), false)
  assert.equal(t.loop.woken, false)
  await t.loop.stop()
  await run
})

test('stop() lets the step in flight finish, then ends run(); it never starts another step', async () => {
  const t = setup()
  const release = t.hold()
  const run = t.loop.run()
  await until(() => t.steps() === 1, 'a step in flight')
  let stopped = false
  const stopping = t.loop.stop().then(() => {
    stopped = true
  })
  await until(() => t.loop.signal.aborted, 'the stop signal')
  assert.equal(stopped, false, 'waits for the step')
  release()
  await stopping
  await run
  assert.equal(t.steps(), 1)
  assert.deepEqual(t.events, ['finish'])
})

test('stop() during an idle wait or a backoff ends run() at once, without time passing or another attempt', async () => {
  for (const plan of [[undefined], [down()]]) {
    const t = setup()
    t.plan.push(...plan)
    const run = t.loop.run()
    await until(() => t.clock.waiting === 1, 'a wait')
    const before = t.clock.now()
    await t.loop.stop()
    await run
    assert.equal(t.clock.now(), before)
    assert.equal(t.steps(), 1)
  }
})

test('run() is idempotent, and a loop stopped before it runs never steps', async () => {
  const t = setup()
  await t.loop.stop()
  await t.loop.stop()
  await t.loop.run()
  assert.equal(t.steps(), 0)
  const u = setup()
  assert.equal(u.loop.run(), u.loop.run())
  await u.loop.stop()
})

test('retry() applies the loop policy under another signal, with a bounded number of retries', async () => {
  const t = setup()
  t.clock.auto = true
  let attempts = 0
  const signal = new AbortController().signal
  await assert.rejects(
    t.loop.retry(
      async () => {
        attempts++
        throw down()
      },
      signal,
      2,
    ),
    /connection refused/,
  )
  assert.equal(attempts, 3)
  assert.equal(await t.retries(), 2)
  assert.match(t.loop.lastError ?? '', /PG_UNAVAILABLE/)
})
