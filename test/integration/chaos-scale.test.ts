import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { scaleRun } from '../../chaos/lib/scale-run.ts'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'
import { createRng } from '../../testkit/rng.ts'
import { buildKeyedWorkload } from '../../testkit/workload.ts'

// Short version of `npm run chaos -- --scenario scale`, on the suite's one-broker stack (a 3-node
// cluster of its own would add its start-up to the suite; broker-kill.test.ts covers that): three
// instances on a 12-partition input, one SIGKILL + restart and one SIGSTOP past the session timeout
// + SIGCONT, with early, re-keyed and bad records in the input. Pairs to expect come from the input alone.
let fx: Fixture
before(async () => {
  fx = await createFixture({
    OFFERSTREAM_TOPIC_PARTITIONS: '12',
    OFFERSTREAM_FANOUT_CHUNK: '1000',
    OFFERSTREAM_RELAY_BATCH: '1500',
    OFFERSTREAM_INGEST_BATCH: '2',
    OFFERSTREAM_LOG_LEVEL: 'info',
  })
})
after(async () => fx?.cleanup())

test('three instances, one SIGKILLed and one frozen past its session: both sinks and the DLQ exact', async () => {
  const seed = Date.now() % 1_000_000
  const rng = createRng(seed)
  const w = buildKeyedWorkload({
    pushes: 24000,
    partitions: 12,
    rng,
    subscribersPerRestaurant: 1000,
    early: 2,
    earlyBySeconds: 10,
    resendOtherPartition: 3,
    bad: 20,
  })
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'chaos-scale-'))
  const r = await scaleRun(fx, w, { instances: 3, kills: 1, stops: 1, stopMs: 11000, rng, runDir, timeoutMs: 180000 })
  const context = `seed ${seed}, logs in ${runDir}, events ${JSON.stringify(r.events)}`
  assert.equal(r.kills, 1, context)
  assert.equal(r.stops, 1, context)
  assert.ok(
    r.events.every(e => e.rows < w.expected.size),
    `every event came mid-run: ${context}`,
  )
  const exact = { missing: 0, duplicated: 0, unexpected: 0, total: w.expected.size }
  assert.deepEqual(r.sinks, { expected: w.expected.size, pg: exact, kafka: exact }, context)
  assert.deepEqual(r.dlq, { received: w.bad.length, missing: 0, extra: 0, withoutReason: 0, unknownCode: 0 }, context)
  assert.equal(r.crashes, 0, context)
  assert.ok(r.cleanExit, context)
  // The re-keyed copies really went to another input partition than their originals.
  const input = await fx.readTopic(fx.config.inputTopic, { atLeast: w.records.length })
  const homePartition = new Map(input.filter(m => !m.key?.includes('/')).map(m => [m.value?.toString(), m.partition]))
  const copies = input.filter(m => m.key?.includes('/resent'))
  assert.equal(copies.length, w.counts.resentOtherPartition)
  for (const c of copies) assert.notEqual(c.partition, homePartition.get(c.value?.toString()), `copy keyed ${c.key}`)
  rmSync(runDir, { recursive: true, force: true })
})
