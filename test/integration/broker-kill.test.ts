import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { Admin, ConfigResourceTypes } from '@platformatic/kafka'
import { brokerRun } from '../../chaos/lib/broker-run.ts'
import { createFixture } from '../../testkit/fixture.ts'
import { buildWorkload } from '../../testkit/workload.ts'
import { type Stack, startStack } from '../../tools/stack/index.ts'

// Short version of `npm run chaos -- --scenario broker`, on a 3-node cluster of this suite's own.
let stack: Stack
const saved = { KAFKA_BROKERS: process.env.KAFKA_BROKERS, DATABASE_URL: process.env.DATABASE_URL }

before(async () => {
  stack = await startStack({ brokers: 3 })
  process.env.KAFKA_BROKERS = stack.kafkaBrokers
  process.env.DATABASE_URL = stack.databaseUrl
})
after(async () => {
  Object.assign(process.env, saved)
  await stack?.stop()
})

const exact = (n: number) => ({ missing: 0, duplicated: 0, unexpected: 0, total: n })

test('a broker of three SIGKILLed mid-run: both sinks exact without operator action, the cluster heals after its restart', async () => {
  const fx = await createFixture({
    OFFERSTREAM_FANOUT_CHUNK: '1000',
    OFFERSTREAM_RELAY_BATCH: '1500',
    OFFERSTREAM_INGEST_BATCH: '2',
    OFFERSTREAM_LOG_LEVEL: 'warn',
    OFFERSTREAM_RETRY_MAX_DELAY_MS: '2000',
  })
  try {
    // The service's topics are replicated to all three brokers and refuse writes with fewer than two in sync.
    const admin = new Admin({ clientId: 'broker-kill-test', bootstrapBrokers: fx.config.kafkaBrokers })
    try {
      const meta = await admin.metadata({ topics: [fx.config.outputTopic, fx.config.stateTopic] })
      for (const t of meta.topics.values()) for (const p of t.partitions) assert.equal(p.replicas.length, 3)
      const [described] = await admin.describeConfigs({
        resources: [
          { resourceType: ConfigResourceTypes.TOPIC, resourceName: fx.config.outputTopic, configurationKeys: ['min.insync.replicas'] },
        ],
      })
      assert.equal(described?.configs.find(c => c.name === 'min.insync.replicas')?.value, '2')
    } finally {
      await admin.close()
    }

    const w = buildWorkload({ pushes: 16000, subscribersPerRestaurant: 1000 })
    const r = await brokerRun(stack, fx, w, { timeoutMs: 120000 })
    assert.ok(r.survived, `service exited after the broker died:\n${r.output.slice(-4000)}`)
    assert.ok(r.rowsAtKill < w.expected.size, 'the kill came mid-run')
    assert.deepEqual(r.sinks, { expected: w.expected.size, pg: exact(w.expected.size), kafka: exact(w.expected.size) })
    assert.equal(r.health.brokers, 3)
    assert.equal(r.health.underReplicated, 0)
    // Offsets and transaction state live on every broker: their replication factor is 3.
    for (const topic of ['__consumer_offsets', '__transaction_state']) {
      assert.deepEqual(Object.values(r.health.internal[topic] ?? {}), [10, 10, 10], `${topic}: ${JSON.stringify(r.health.internal)}`)
    }
    assert.ok(r.cleanExit, r.output.slice(-2000))
  } finally {
    await fx.cleanup()
  }
})
