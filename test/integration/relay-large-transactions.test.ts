import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import { keyPartition } from '../../src/kafka/key-partition.ts'
import type { Service } from '../../src/service/app.ts'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'
import { runService } from '../../testkit/service.ts'
import { verifySinks } from '../../testkit/sinks.ts'

// Regression (found by the hostile-input fuzz): with the default relay batch, a transaction of
// 20,000 pushes (~9 MB) or a few DLQ records of oversized input went to the broker as one record
// batch per partition, was refused with MESSAGE_TOO_LARGE and retried forever: the relay wedged.
let fx: Fixture
let svc: Service | undefined

before(async () => {
  fx = await createFixture()
})
after(async () => {
  await svc?.stop()
  await fx?.cleanup()
})

test('default-size relay transactions with large pushes and large DLQ values get through', async () => {
  const now = Math.floor(Date.now() / 1000)
  const restaurant = randomUUID()
  const clients = Array.from({ length: 25000 }, () => randomUUID())
  await fx.addSubscribers(clients.map(c => [c, restaurant]))
  const campaign = randomUUID()
  // Long content makes each push ~1.5 KB: 20,000 of them are ~30 MB in one transaction.
  const content = 'promo '.repeat(180)
  const oversized = Array.from({ length: 12 }, (_, i) => `{"junk":"${String.fromCharCode(97 + i).repeat(200000)}"}`)
  // One per request: the harness's producer is bound by the same 1 MB batch limit.
  for (const v of oversized.slice(0, 6)) await fx.produce([v])
  await fx.produce([
    JSON.stringify({
      restaurant_id: restaurant,
      adv_campaign_id: campaign,
      adv_campaign_content: content,
      adv_campaign_datetime_start: now - 10,
      adv_campaign_datetime_end: now + 7200,
    }),
  ])
  for (const v of oversized.slice(6)) await fx.produce([v])
  svc = await runService(fx.config)
  const expected = new Set(clients.map(c => `${campaign}/${c}`))
  const pushes = await fx.readTopic(fx.config.outputTopic, { atLeast: expected.size, timeoutMs: 120000, settleMs: 1000 })
  const report = await verifySinks(fx.pool, pushes, expected)
  assert.deepEqual(report.kafka, { missing: 0, duplicated: 0, unexpected: 0, total: expected.size })
  // Every push sits where Kafka's Java producer would have put its key (the relay partitions itself).
  const partitions = fx.config.topicPartitions
  assert.ok(partitions > 1)
  const misplaced = pushes.filter(p => p.partition !== keyPartition(p.key!, partitions))
  assert.equal(misplaced.length, 0, `${misplaced.length} pushes on another partition than the Java producer's`)
  const dlq = await fx.readTopic(fx.config.dlqTopic, { atLeast: oversized.length, timeoutMs: 60000, settleMs: 500 })
  assert.equal(dlq.length, oversized.length)
  assert.ok(dlq.every(d => d.headers.get('offerstream.error.code') === 'too_large' && d.value?.length === oversized[0]!.length))
})
