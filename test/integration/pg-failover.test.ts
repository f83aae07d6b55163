import assert from 'node:assert/strict'
import { test } from 'node:test'
import { pgFailoverRun } from '../../chaos/lib/pg-failover-run.ts'

// Short version of `npm run chaos -- --scenario pg-failover` (issue 20): an asynchronous replica
// gets no WAL for 1.5 s while a backlog is fanned out and the rest of the input (campaigns and bad
// records) arrives, then the primary is SIGKILLed and the replica promoted behind the service's
// DATABASE_URL. The service must notice the new timeline and stop (exit 3), and its next start
// must find PostgreSQL behind Kafka and repair it: both sinks and the DLQ exact, from the inputs.
test('a failover that loses committed transactions is detected and repaired: both sinks and the DLQ exact', async () => {
  const r = await pgFailoverRun({
    sync: false,
    lagMs: 1500,
    pushes: 16000,
    subscribersPerRestaurant: 800,
    bad: 10,
    settings: { OFFERSTREAM_FANOUT_CHUNK: '400', OFFERSTREAM_RELAY_BATCH: '800', OFFERSTREAM_INGEST_BATCH: '5' },
    timeoutMs: 120_000,
  })
  const exact = { missing: 0, duplicated: 0, unexpected: 0, total: r.sinks.expected }
  assert.deepEqual(r.sinks, { expected: r.sinks.expected, pg: exact, kafka: exact }, JSON.stringify(r.atKill))
  assert.deepEqual({ missing: r.dlq.missing, extra: r.dlq.extra }, { missing: 0, extra: 0 })
  // The timeline watch stopped the incarnation that met the promoted replica, with the regression's exit code.
  assert.equal(r.exits[0], 3, r.regressionErrors.join('\n'))
  assert.ok(
    r.regressionErrors.some(l => /PostgreSQL is behind Kafka/.test(l)),
    `no regression logged; at the kill ${JSON.stringify(r.atKill)}`,
  )
  assert.ok(r.repair && r.repair.repairMs >= 0, 'no repair logged')
})
