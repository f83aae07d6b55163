import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, test } from 'node:test'
import { Admin, Consumer, FetchIsolationLevels, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka'
import { requireServices } from '../../testkit/fixture.ts'

// A read_committed consumer must see exactly the committed records of a transactional producer
// whose transactions alternate between abort and commit. @platformatic/kafka 2.12.1 kept one
// aborted range per producer id per fetch response (so all but the last aborted transaction of a
// producer leaked through) and dropped a range whose abort marker fell outside the response (so
// its records leaked too); offerstream's vendored build of it (tools/kafka-client/) fixes both, and
// test/unit/read-committed-filter.test.ts feeds that filter such responses without a broker. The
// relay reuses one producer id across incarnations, so every SIGKILL leaves exactly this pattern in
// push_message.

const id = randomBytes(4).toString('hex')
const topic = `rc_${id}`
let brokers: string[]

before(async () => {
  brokers = requireServices().brokers.split(',')
  const admin = new Admin({ clientId: `rc-admin-${id}`, bootstrapBrokers: brokers })
  await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 })
  await admin.close()
})

after(async () => {
  const admin = new Admin({ clientId: `rc-admin-${id}`, bootstrapBrokers: brokers })
  await admin.deleteTopics({ topics: [topic] }).catch(() => {})
  await admin.close()
})

test('read_committed skips every aborted transaction of a reused producer id, also across fetch boundaries', async () => {
  const producer = new Producer({
    clientId: `rc-producer-${id}`,
    bootstrapBrokers: brokers,
    idempotent: true,
    transactionalId: `rc-tx-${id}`,
    acks: -1,
    serializers: stringSerializers,
  })
  const committed: string[] = []
  const pad = 'x'.repeat(300)
  // Several aborted and committed transactions of one producer; the large aborted one spans more
  // than one fetch response of the reader below (maxBytes 4 KB).
  const plan: Array<[name: string, count: number, commit: boolean]> = [
    ['a', 3, false],
    ['b', 2, true],
    ['c', 3, false],
    ['d', 1, true],
    ['e', 40, false],
    ['f', 2, true],
  ]
  for (const [name, count, commit] of plan) {
    const tx = await producer.beginTransaction()
    for (let i = 0; i < count; i++) {
      const value = `${name}${i}:${pad}`
      await tx.send({ messages: [{ topic, key: `${name}${i}`, value }] })
      if (commit) committed.push(value)
    }
    if (commit) await tx.commit()
    else await tx.abort()
  }
  await producer.close()

  const consumer = new Consumer({
    clientId: `rc-reader-${id}`,
    groupId: `rc-reader-${id}`,
    bootstrapBrokers: brokers,
    deserializers: stringDeserializers,
    maxBytes: 4096,
  })
  const stream = await consumer.consume({
    topics: [topic],
    mode: 'earliest',
    autocommit: false,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    maxWaitTime: 100,
  })
  const seen: string[] = []
  const last = committed[committed.length - 1]
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`last committed record not seen; got ${seen.map(s => s.slice(0, 3)).join(',')}`)),
      60000,
    )
    stream.on('data', m => {
      seen.push(m.value as string)
      if (m.value === last) {
        clearTimeout(timer)
        resolve()
      }
    })
  })
  await stream.close()
  await consumer.close(true)
  assert.deepEqual(
    seen.map(s => s.slice(0, 3)),
    committed.map(s => s.slice(0, 3)),
  )
})
