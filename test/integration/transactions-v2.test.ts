import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { after, before, test } from 'node:test'
import { Admin, Producer, stringSerializers } from '@platformatic/kafka'
import { ErrorCodes } from '../../src/errors.ts'
import { translateKafkaError } from '../../src/kafka/kafka-errors.ts'
import { requireServices } from '../../testkit/fixture.ts'
import { readTopic } from '../../testkit/sinks.ts'

// Transactions v2 (KIP-890 part 2) in offerstream's vendored Kafka client (tools/kafka-client/edits.mjs,
// section 4): against a broker that finalizes transaction.version 2 (the stack's Kafka 4.1.1), a
// transaction is Produce v12 + EndTxn v5, with no AddPartitionsToTxn, and every end bumps the epoch.
// Exactly-once rests on what these tests check: committed records visible to read_committed,
// aborted ones never, and an older incarnation fenced once a new one has initialised.

const id = randomBytes(4).toString('hex')
const topic = `tv2_${id}`
let brokers: string[]

const API = { Produce: 0, AddPartitionsToTxn: 24, EndTxn: 26 } as const

/** The requests this process sends while `fn` runs, as `${apiKey}v${apiVersion}` -> count. */
async function requestsDuring(fn: () => Promise<void>): Promise<Map<string, number>> {
  const seen = new Map<string, number>()
  const onStart = (message: unknown) => {
    const { apiKey, apiVersion } = message as { apiKey: number; apiVersion: number }
    const key = `${apiKey}v${apiVersion}`
    seen.set(key, (seen.get(key) ?? 0) + 1)
  }
  subscribe('tracing:plt:kafka:connections:api:start', onStart)
  try {
    await fn()
  } finally {
    unsubscribe('tracing:plt:kafka:connections:api:start', onStart)
  }
  return seen
}

const countOf = (seen: Map<string, number>, apiKey: number) =>
  [...seen].filter(([k]) => k.startsWith(`${apiKey}v`)).reduce((n, [, c]) => n + c, 0)

function producer(transactionalId: string, transactionsV2?: boolean) {
  return new Producer({
    clientId: `tv2-${id}`,
    bootstrapBrokers: brokers,
    idempotent: true,
    transactionalId,
    acks: -1,
    retryDelay: 10,
    retries: 20,
    serializers: stringSerializers,
    ...(transactionsV2 === undefined ? {} : { transactionsV2 }),
  })
}

/** The values a read_committed consumer sees in the topic once `expected` of them have arrived. */
async function committedValues(expected: number): Promise<string[]> {
  const records = await readTopic(brokers, topic, { atLeast: expected, timeoutMs: 30_000, settleMs: 700 })
  return records.map(r => r.value?.toString() ?? '').sort()
}

before(async () => {
  brokers = requireServices().brokers.split(',')
  const admin = new Admin({ clientId: `tv2-admin-${id}`, bootstrapBrokers: brokers })
  await admin.createTopics({ topics: [topic], partitions: 3, replicas: 1 })
  await admin.close()
})

after(async () => {
  const admin = new Admin({ clientId: `tv2-admin-${id}`, bootstrapBrokers: brokers })
  await admin.deleteTopics({ topics: [topic] }).catch(() => {})
  await admin.close()
})

const expected: string[] = []

test('over transactions v2 a transaction sends no AddPartitionsToTxn, bumps the epoch at its end, and commits or aborts as asked', async () => {
  const p = producer(`tv2-a-${id}`)
  try {
    // The first transaction initialises the producer id (InitProducerId), which chooses the protocol.
    const first = await p.beginTransaction({ producerId: -1n, producerEpoch: -1 })
    assert.equal(p.transactionsV2, true, 'the stack (Kafka 4.1.1) finalizes transaction.version 2 and offers Produce v12 and EndTxn v5')
    await first.send({ messages: [{ topic, key: 'k0', value: 'committed-0', partition: 0 }] })
    await first.commit()
    expected.push('committed-0')

    const epoch = p.producerEpoch!
    const seen = await requestsDuring(async () => {
      const tx = await p.beginTransaction()
      await tx.send({
        messages: [0, 1, 2].map(partition => ({ topic, key: `k${partition}`, value: `committed-1-${partition}`, partition })),
      })
      await tx.commit()
    })
    expected.push('committed-1-0', 'committed-1-1', 'committed-1-2')
    assert.equal(countOf(seen, API.AddPartitionsToTxn), 0, `requests: ${[...seen]}`)
    assert.ok((seen.get(`${API.Produce}v12`) ?? 0) >= 1, `Produce v12 carries the batches; requests: ${[...seen]}`)
    assert.equal(seen.get(`${API.EndTxn}v5`), 1, `one EndTxn v5; requests: ${[...seen]}`)
    assert.equal(p.producerEpoch, epoch + 1, 'EndTxn v5 returns the bumped epoch')

    const aborted = await p.beginTransaction()
    await aborted.send({ messages: [0, 1, 2].map(partition => ({ topic, key: 'x', value: `aborted-${partition}`, partition })) })
    await aborted.abort()
    assert.equal(p.producerEpoch, epoch + 2, 'an abort bumps the epoch too')

    // Many transactions in a row on one producer, each under the epoch the previous one returned,
    // its sequence numbers from 0 again; a few aborted between them.
    for (let i = 0; i < 30; i++) {
      const tx = await p.beginTransaction()
      const value = `run-${i}`
      await tx.send({ messages: [{ topic, key: `r${i}`, value, partition: i % 3 }] })
      await tx.send({ messages: [{ topic, key: `r${i}`, value: `${value}-second`, partition: (i + 1) % 3 }] })
      if (i % 5 === 4) await tx.abort()
      else {
        await tx.commit()
        expected.push(value, `${value}-second`)
      }
    }
    assert.equal(p.producerEpoch, epoch + 32)
  } finally {
    await p.close(true)
  }
  assert.deepEqual(
    await committedValues(expected.length),
    [...expected].sort(),
    'read_committed sees the committed records, each once, and no aborted one',
  )
})

test('a zombie incarnation is fenced once a new one initialises, whatever epoch its transactions had reached', async () => {
  const transactionalId = `tv2-z-${id}`
  const zombie = producer(transactionalId)
  const next = producer(transactionalId)
  try {
    const first = await zombie.beginTransaction({ producerId: -1n, producerEpoch: -1 })
    await first.send({ messages: [{ topic, key: 'z', value: 'zombie-committed', partition: 0 }] })
    await first.commit()
    expected.push('zombie-committed')
    // The zombie's open transaction, left as a frozen relay would leave it.
    const open = await zombie.beginTransaction()
    await open.send({ messages: [{ topic, key: 'z', value: 'zombie-open', partition: 1 }] })

    const tx = await next.beginTransaction({ producerId: -1n, producerEpoch: -1 })
    assert.equal(next.producerId, zombie.producerId, 'the same transactional id keeps its producer id')
    assert.ok(next.producerEpoch! > zombie.producerEpoch!, `new epoch ${next.producerEpoch} above the zombie's ${zombie.producerEpoch}`)
    // offerstream's relay reads either refusal as KAFKA_FENCED and gives the shard up.
    const fenced = (error: unknown) => {
      assert.equal(translateKafkaError(error).code, ErrorCodes.KAFKA_FENCED, String((error as Error).message))
      return true
    }
    await assert.rejects(open.send({ messages: [{ topic, key: 'z', value: 'zombie-late', partition: 2 }] }), fenced)
    await assert.rejects(open.commit(), fenced)

    await tx.send({ messages: [{ topic, key: 'n', value: 'next-committed', partition: 1 }] })
    await tx.commit()
    expected.push('next-committed')
  } finally {
    await zombie.close(true).catch(() => {})
    await next.close(true)
  }
  assert.deepEqual(await committedValues(expected.length), [...expected].sort(), "none of the zombie's open or late records is visible")
})

test('transactionsV2: false keeps the classic protocol (AddPartitionsToTxn, Produce v11, EndTxn v4, one epoch)', async () => {
  const p = producer(`tv2-c-${id}`, false)
  try {
    const first = await p.beginTransaction({ producerId: -1n, producerEpoch: -1 })
    assert.equal(p.transactionsV2, false)
    const epoch = p.producerEpoch
    const seen = await requestsDuring(async () => {
      await first.send({ messages: [{ topic, key: 'c', value: 'classic-committed', partition: 2 }] })
      await first.commit()
    })
    expected.push('classic-committed')
    assert.equal(countOf(seen, API.AddPartitionsToTxn), 1, `requests: ${[...seen]}`)
    assert.equal(seen.get(`${API.Produce}v11`), 1, `requests: ${[...seen]}`)
    assert.equal(seen.get(`${API.EndTxn}v4`), 1, `requests: ${[...seen]}`)
    const tx = await p.beginTransaction()
    await tx.send({ messages: [{ topic, key: 'c', value: 'classic-aborted', partition: 2 }] })
    await tx.abort()
    assert.equal(p.producerEpoch, epoch, 'the classic protocol keeps the epoch')
  } finally {
    await p.close(true)
  }
  assert.deepEqual(await committedValues(expected.length), [...expected].sort())
})
