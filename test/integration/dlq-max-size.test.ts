import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import type { Service } from '../../src/service/app.ts'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'
import { runService } from '../../testkit/service.ts'

// The DLQ record is the input record plus reason headers, so the largest value the input topic
// accepts is a little too large for a DLQ topic with the same limit. The relay would retry it
// forever and every push queued behind it would wait.
let fx: Fixture
let svc: Service | undefined
before(async () => {
  fx = await createFixture()
})
after(async () => {
  await svc?.stop()
  await fx?.cleanup()
})

test('the largest value the input topic accepts still reaches the DLQ, and pushes behind it flow', async () => {
  // Find the largest value the broker takes on the input topic (1 MB batch limit minus overhead).
  let size = 1048576
  for (;;) {
    try {
      await fx.produce([Buffer.alloc(size, 'x')])
      break
    } catch {
      size -= 16
    }
  }
  const restaurant = randomUUID()
  const client = randomUUID()
  await fx.addSubscribers([[client, restaurant]])
  const now = Math.floor(Date.now() / 1000)
  await fx.produce([
    JSON.stringify({
      restaurant_id: restaurant,
      adv_campaign_id: randomUUID(),
      adv_campaign_content: 'after the big one',
      adv_campaign_datetime_start: now - 10,
      adv_campaign_datetime_end: now + 7200,
    }),
  ])
  svc = await runService(fx.config)
  const pushes = await fx.readTopic(fx.config.outputTopic, { atLeast: 1, timeoutMs: 30000, settleMs: 200 })
  assert.equal(pushes.length, 1, `value of ${size} bytes blocked the relay`)
  const dlq = await fx.readTopic(fx.config.dlqTopic, { atLeast: 1, timeoutMs: 30000, settleMs: 200 })
  assert.equal(dlq.length, 1)
  assert.equal(dlq[0]!.value?.length, size)
  assert.equal(dlq[0]!.headers.get('offerstream.error.code'), 'too_large')
})
