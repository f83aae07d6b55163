import assert from 'node:assert/strict'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { after, before, test } from 'node:test'
import { Consumer } from '@platformatic/kafka'
import { ErrorCodes, type OfferstreamError } from '../../src/errors.ts'
import { kafkaBaseOptions } from '../../src/kafka/client-options.ts'
import { InstanceProducer, instanceTransactionalId } from '../../src/kafka/instance-producer.ts'
import { readCursor } from '../../src/kafka/read-cursor.ts'
import { fenceTransactionalIds } from '../../src/kafka/relay-producer.ts'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'

// One relay producer per instance (OFFERSTREAM_RELAY_PRODUCER=instance): shards that publish while a
// transaction is in flight share the next one, and a shard's new owner fences the whole producer by
// initialising its transactional id, after which nothing of the fenced incarnation commits.
let fx: Fixture
const END_TXN = 26

before(async () => {
  fx = await createFixture()
})
after(async () => {
  await fx?.cleanup()
})

async function endTxnsDuring(fn: () => Promise<void>): Promise<number> {
  let n = 0
  const onStart = (message: unknown) => {
    if ((message as { apiKey: number }).apiKey === END_TXN) n++
  }
  subscribe('tracing:plt:kafka:connections:api:start', onStart)
  try {
    await fn()
  } finally {
    unsubscribe('tracing:plt:kafka:connections:api:start', onStart)
  }
  return n
}

async function cursorOf(key: string) {
  const reader = new Consumer({ ...kafkaBaseOptions(fx.config, 'test-cursor'), groupId: `${fx.config.groupId}-test-cursor` })
  try {
    return await readCursor(reader, fx.config.stateTopic, key)
  } finally {
    await reader.close(true)
  }
}

const push = (campaign: string, client: string) => ({
  topic: fx.config.outputTopic,
  key: `${campaign}/${client}`,
  value: JSON.stringify({ campaign, client }),
})

test('shards publishing while a transaction is in flight share the next one; each keeps its own cursor', async () => {
  const producer = new InstanceProducer(fx.config, instanceTransactionalId(fx.config, 'host-a:1'))
  try {
    const incarnation = await producer.ready()
    const shards = Array.from({ length: 6 }, (_, s) => s)
    const ends = await endTxnsDuring(async () => {
      await Promise.all(
        shards.map(s => producer.publish(incarnation, `k-${s}`, [push(`c${s}`, 'x'), push(`c${s}`, 'y')], { push: 10 + s, dlq: s })),
      )
    })
    // The first publish starts a transaction alone; the five that came while it was in flight ride in the next.
    assert.ok(ends <= 2, `${ends} transactions for 6 shards`)
    for (const s of shards) assert.deepEqual(await cursorOf(`k-${s}`), { push: 10 + s, dlq: s })
    const pushes = await fx.readTopic(fx.config.outputTopic, { atLeast: 12, timeoutMs: 30_000, settleMs: 300 })
    assert.equal(pushes.length, 12)
  } finally {
    await producer.close()
  }
})

test("a shard's new owner fences the instance: the old incarnation commits nothing more, a new one starts", async () => {
  const id = instanceTransactionalId(fx.config, 'host-b:2')
  const producer = new InstanceProducer(fx.config, id)
  try {
    const first = await producer.ready()
    await producer.publish(first, 'k-fenced', [push('f', '1')], { push: 1, dlq: 0 })
    await fenceTransactionalIds(fx.config, [id])
    const refused = await producer.publish(first, 'k-fenced', [push('f', '2')], { push: 2, dlq: 0 }).then(
      () => undefined,
      (e: OfferstreamError) => e,
    )
    assert.ok(refused?.retryable, 'the fenced transaction fails (retryably)')
    assert.equal(refused?.code, ErrorCodes.KAFKA_FENCED)
    // The incarnation ended with the failure: a publish under it is refused before it reaches Kafka.
    await assert.rejects(producer.publish(first, 'k-fenced', [push('f', '3')], { push: 3, dlq: 0 }), /re-initialised/)
    assert.deepEqual(await cursorOf('k-fenced'), { push: 1, dlq: 0 })
    const second = await producer.ready()
    assert.equal(second, first + 1)
    await producer.publish(second, 'k-fenced', [push('f', '4')], { push: 4, dlq: 0 })
    assert.deepEqual(await cursorOf('k-fenced'), { push: 4, dlq: 0 })
    const values = (await fx.readTopic(fx.config.outputTopic, { atLeast: 14, timeoutMs: 30_000, settleMs: 500 }))
      .map(r => r.key?.toString())
      .filter(k => k?.startsWith('f/'))
    assert.deepEqual(values.sort(), ['f/1', 'f/4'])
  } finally {
    await producer.close()
  }
})
