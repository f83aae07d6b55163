import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import pg from 'pg'
import { loadConfig } from '../../src/config/load-config.ts'
import { createPool } from '../../src/pg/pool.ts'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'
import { ServiceProcess } from '../../testkit/service-process.ts'
import { checkSinks, sinksExact, waitForFeedback } from '../../testkit/sinks.ts'
import { buildWorkload } from '../../testkit/workload.ts'

// Issue 20 without a replica: a copy of the database taken mid-run (CREATE DATABASE … TEMPLATE,
// a consistent point in time) is what a failover that lost the last transactions leaves. The
// service finishes the run on the original, then is pointed at the copy: Kafka is ahead of it.
let fx: Fixture
let copyUrl: string
let copyPool: pg.Pool
before(async () => {
  fx = await createFixture({ OFFERSTREAM_FANOUT_CHUNK: '300', OFFERSTREAM_RELAY_BATCH: '600', OFFERSTREAM_INGEST_BATCH: '3' })
})
after(async () => {
  await copyPool?.end().catch(() => {})
  const c = new pg.Client({ connectionString: fx.config.databaseUrl })
  await c.connect()
  await c.query(`drop database if exists ${new URL(copyUrl).pathname.slice(1)} with (force)`).catch(() => {})
  await c.end()
  await fx?.cleanup()
})

test('a database behind Kafka stops the start (stop), then is repaired exactly (repair)', async () => {
  const w = buildWorkload({ pushes: 9000, subscribersPerRestaurant: 600, resends: 1 })
  const bad = ['not json 1', 'not json 2', 'not json 3']
  await fx.addSubscribers(w.subscribers)
  const half = Math.ceil(w.values.length / 2)
  await fx.produce([...w.values.slice(0, half), bad[0]!])
  const svc = new ServiceProcess(fx.config)
  svc.start()
  await waitForFeedback(fx, Math.ceil(w.expected.size / 4), 120_000)
  await svc.kill('SIGKILL')
  // The copy: only possible with no session on the original.
  const db = new URL(fx.config.databaseUrl).pathname.slice(1)
  const copy = `${db}_copy`
  const admin = new pg.Client({ connectionString: fx.config.databaseUrl.replace(`/${db}`, '/postgres') })
  await admin.connect()
  await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [db])
  await admin.query(`create database ${copy} template ${db}`)
  await admin.end()
  copyUrl = fx.config.databaseUrl.replace(`/${db}`, `/${copy}`)
  // The rest of the run on the original: everything pushed and in the DLQ.
  await fx.produce([...w.values.slice(half), ...bad.slice(1)])
  svc.start()
  const first = await checkSinks(fx, w.expected, 180_000)
  assert.ok(sinksExact(first), JSON.stringify(first))
  await svc.kill('SIGTERM')

  // On the copy, with OFFERSTREAM_PG_REGRESSION=stop: exit 3 naming the shards, nothing written.
  const onCopy = (mode: string) => loadConfig({ env: { ...envOf(fx), DATABASE_URL: copyUrl, OFFERSTREAM_PG_REGRESSION: mode } })
  const stopped = new ServiceProcess(onCopy('stop'))
  stopped.start()
  const exit = await waitExit(stopped, 120_000)
  assert.equal(exit, 3, stopped.output.slice(-3000))
  // The message lists every regressed shard and table; a shard whose rejects regressed may come first.
  assert.match(stopped.output, /PostgreSQL is behind Kafka: .*shard \d+: Kafka has cursor push=\d+, offerstream_fanouts only up to id \d+/)
  assert.match(stopped.output, /--pg-regression repair/)

  // repair: both sinks exact on the copy, the DLQ untouched (each bad record once).
  const repairing = new ServiceProcess(onCopy('repair'))
  repairing.start()
  copyPool = createPool(copyUrl)
  const copyFx = { ...fx, pool: copyPool }
  const repaired = await checkSinks(copyFx, w.expected, 180_000)
  assert.ok(sinksExact(repaired), JSON.stringify(repaired))
  assert.match(repairing.output, /PostgreSQL regression handled/)
  const dlq = await fx.readTopic(fx.config.dlqTopic, { atLeast: bad.length, settleMs: 2000 })
  assert.deepEqual(dlq.map(r => r.value?.toString()).sort(), [...bad].sort())
  await repairing.kill('SIGTERM')
})

function envOf(f: Fixture): Record<string, string> {
  const c = f.config
  return {
    KAFKA_BROKERS: c.kafkaBrokers.join(','),
    OFFERSTREAM_INPUT_TOPIC: c.inputTopic,
    OFFERSTREAM_OUTPUT_TOPIC: c.outputTopic,
    OFFERSTREAM_DLQ_TOPIC: c.dlqTopic,
    OFFERSTREAM_STATE_TOPIC: c.stateTopic,
    OFFERSTREAM_SHARD_TOPIC: c.shardTopic,
    OFFERSTREAM_FEEDBACK_TOPIC: c.feedbackTopic,
    OFFERSTREAM_FEEDBACK_DLQ_TOPIC: c.feedbackDlqTopic,
    OFFERSTREAM_GROUP_ID: c.groupId,
    OFFERSTREAM_TRANSACTIONAL_ID: c.transactionalId,
    OFFERSTREAM_HTTP_ENABLED: 'false',
    OFFERSTREAM_FANOUT_CHUNK: String(c.fanoutChunk),
    OFFERSTREAM_RELAY_BATCH: String(c.relayBatch),
    OFFERSTREAM_LOG_LEVEL: 'warn',
  }
}

async function waitExit(svc: ServiceProcess, timeoutMs: number): Promise<number | null> {
  const deadline = Date.now() + timeoutMs
  while (svc.running && Date.now() < deadline) await new Promise(r => setTimeout(r, 100))
  return (await svc.kill('SIGKILL')).code
}
