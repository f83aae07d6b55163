import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { Admin, Consumer, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka'
import pg from 'pg'
import { startStack } from '../../tools/stack/index.ts'

/** Gone means no such process, or only a zombie left for init to reap. */
function gone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return /^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2))
  } catch {
    return true
  }
}

async function produce(brokers: string, topic: string, value: string): Promise<void> {
  const producer = new Producer({ clientId: 'stack-test', bootstrapBrokers: [brokers], serializers: stringSerializers })
  try {
    await producer.send({ messages: [{ topic, key: 'k', value }] })
  } finally {
    await producer.close()
  }
}

/** Reads the first `count` values of the topic with a fresh group. */
async function consume(brokers: string, topic: string, count: number): Promise<string[]> {
  const consumer = new Consumer({
    clientId: 'stack-test',
    groupId: `stack-test-${Date.now()}`,
    bootstrapBrokers: [brokers],
    deserializers: stringDeserializers,
  })
  const values: string[] = []
  try {
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', maxWaitTime: 200 })
    for await (const message of stream) {
      values.push(message.value)
      if (values.length === count) break
    }
    await stream.close()
  } finally {
    await consumer.close(true)
  }
  return values
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query<T>(sql)).rows
  } finally {
    await client.end()
  }
}

test('stack runs a real Kafka and PostgreSQL, restarts them and cleans up', { timeout: 300_000 }, async t => {
  const stack = await startStack({ log: msg => t.diagnostic(msg) })
  t.after(() => stack.stop())
  const { kafka: kafkaPid, postgres: pgPid } = stack.pids()
  assert.ok(kafkaPid && pgPid, 'both services run')
  assert.match(stack.kafkaBrokers, /^127\.0\.0\.1:\d+$/)
  assert.match(stack.databaseUrl, /^postgres:\/\/\w+:\w+@127\.0\.0\.1:\d+\/postgres$/)

  await t.test('kafka: create a topic, produce and consume', async () => {
    const admin = new Admin({ clientId: 'stack-test', bootstrapBrokers: [stack.kafkaBrokers] })
    try {
      await admin.createTopics({ topics: ['stack-test'], partitions: 1, replicas: 1 })
      assert.ok((await admin.listTopics()).includes('stack-test'))
    } finally {
      await admin.close()
    }
    await produce(stack.kafkaBrokers, 'stack-test', 'hello')
    assert.deepEqual(await consume(stack.kafkaBrokers, 'stack-test', 1), ['hello'])
  })

  await t.test('postgres: query and write', async () => {
    const rows = await query<{ answer: number; version: string }>(stack.databaseUrl, 'select 41 + 1 as answer, version() as version')
    assert.equal(rows[0]?.answer, 42)
    assert.match(rows[0]?.version ?? '', /^PostgreSQL 18/)
    await query(stack.databaseUrl, "create table kept (v text); insert into kept values ('before restart')")
  })

  await t.test('kafka restarts on the same port and keeps its data', async () => {
    await stack.stopKafka()
    assert.ok(gone(kafkaPid), 'broker process is gone after stopKafka')
    await stack.startKafka()
    await produce(stack.kafkaBrokers, 'stack-test', 'after restart')
    assert.deepEqual(await consume(stack.kafkaBrokers, 'stack-test', 2), ['hello', 'after restart'])
  })

  await t.test('kafka survives a crash (SIGKILL) and restart', async () => {
    await stack.stopKafka({ hard: true })
    await stack.startKafka()
    assert.deepEqual(await consume(stack.kafkaBrokers, 'stack-test', 2), ['hello', 'after restart'])
  })

  await t.test('postgres restarts on the same port and keeps its data', async () => {
    await stack.stopPostgres()
    assert.ok(gone(pgPid), 'postmaster is gone after stopPostgres')
    await stack.startPostgres()
    assert.deepEqual(await query(stack.databaseUrl, 'select v from kept'), [{ v: 'before restart' }])
  })

  await t.test('stop() stops everything and is idempotent', async () => {
    const pids = stack.pids()
    const started = Date.now()
    await stack.stop()
    t.diagnostic(`stop took ${Date.now() - started} ms`)
    await stack.stop()
    for (const pid of [kafkaPid, pgPid, pids.kafka, pids.postgres]) assert.ok(pid && gone(pid), `pid ${pid} is gone`)
    assert.deepEqual(stack.pids(), { kafka: undefined, brokers: [undefined], postgres: undefined })
  })
})
