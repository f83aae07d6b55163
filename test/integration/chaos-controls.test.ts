import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { checkCaps } from '../../chaos/lib/cap-check.ts'
import { buildControlsWorkload, checkControls } from '../../chaos/lib/controls-run.ts'
import { scaleRun } from '../../chaos/lib/scale-run.ts'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'
import { createRng } from '../../testkit/rng.ts'

// Short version of `npm run chaos -- --scenario controls` (issue 17): three instances on a
// 12-partition input whose campaigns get cancels (before and after them) and updates, one SIGKILL +
// restart and one SIGSTOP past the session timeout. Which pairs must, may and must not exist comes
// from the input alone (chaos/lib/controls-run.ts). A frequency cap is on: no client may be over it.
let fx: Fixture
before(async () => {
  fx = await createFixture({
    OFFERSTREAM_TOPIC_PARTITIONS: '12',
    OFFERSTREAM_FANOUT_CHUNK: '1000',
    OFFERSTREAM_RELAY_BATCH: '1500',
    OFFERSTREAM_INGEST_BATCH: '2',
    OFFERSTREAM_LOG_LEVEL: 'info',
    // A cap that bites (audiences overlap): the caps' lease changes hands between the instances,
    // and with a SIGKILL and a SIGSTOP among them.
    OFFERSTREAM_FREQUENCY_CAP: '2/1h',
  })
})
after(async () => fx?.cleanup())

test('cancels and updates under a SIGKILL and a SIGSTOP, 3 instances: both sinks agree and obey every cancel and version', async () => {
  // A workload in which the cap must bite: some client owed pushes by 3 or more campaigns that no
  // cancel takes away (with a random seed, about 1 in 20 workloads had none, and the check below failed).
  let seed = Date.now() % 1_000_000
  let w = buildControlsWorkload({ pushes: 20000, partitions: 12, rng: createRng(seed) })
  for (let tries = 0; mostOwed(w.expected) < 3; tries++) {
    assert.ok(tries < 50, 'a workload the cap bites in')
    seed++
    w = buildControlsWorkload({ pushes: 20000, partitions: 12, rng: createRng(seed) })
  }
  const rng = createRng(seed + 1_000_000)
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'chaos-controls-'))
  let why: Record<string, number> = {}
  let pairs = { pushed: 0, suppressed: 0, cancelledAway: 0 }
  const r = await scaleRun(fx, w, {
    instances: 3,
    kills: 1,
    stops: 1,
    stopMs: 11000,
    rng,
    runDir,
    timeoutMs: 180000,
    checkSinks: async ms => {
      const report = await checkControls(fx, w, ms)
      why = report.why
      pairs = report.pairs
      return report
    },
  })
  const context = `seed ${seed}, plan ${JSON.stringify(Object.fromEntries([...w.plan.values()].map(k => [k, [...w.plan.values()].filter(x => x === k).length])))}, logs in ${runDir}, why ${JSON.stringify(why)}`
  assert.ok(w.plan.size > 0, `the workload has cancels or updates: ${context}`)
  assert.deepEqual([r.kills, r.stops, r.crashes], [1, 1, 0], context)
  const exact = (t: typeof r.sinks.pg) => t.missing === 0 && t.duplicated === 0 && t.unexpected === 0 && t.total === r.sinks.expected
  assert.ok(exact(r.sinks.pg) && exact(r.sinks.kafka), `${JSON.stringify(r.sinks)} ${context}`)
  // Every pair owed is pushed, or kept back by the cap (the tallies' missing, checked above, counts neither).
  assert.ok(r.sinks.expected + pairs.suppressed >= w.expected.size, 'every pair owed is there or suppressed')
  assert.equal(
    pairs.pushed + pairs.suppressed + pairs.cancelledAway,
    w.possible.size,
    `every reachable pair accounted for once: ${JSON.stringify(pairs)}`,
  )
  assert.equal(r.dlq.received, 0, context)
  const caps = await checkCaps(fx, { frequency: { limit: 2, windowSeconds: 3600 }, restaurant: null })
  assert.equal(caps.overCap, 0, `no client over the cap: ${JSON.stringify(caps)} ${context}`)
  assert.ok(pairs.suppressed > 0, `the cap bit: ${JSON.stringify(pairs)} ${context}`)
  // A restart must not take trailing cancels (no event rows) for input a failover lost.
  const regressions = Object.keys(r.warnings).filter(k => k.includes('PG_REGRESSION'))
  assert.deepEqual(regressions, [], context)
  assert.ok(r.cleanExit, context)
  rmSync(runDir, { recursive: true, force: true })
})

/** The most pairs any one client is owed (keys `campaign/client`). */
function mostOwed(expected: Set<string>): number {
  const per = new Map<string, number>()
  for (const k of expected) {
    const client = k.slice(k.indexOf('/') + 1)
    per.set(client, (per.get(client) ?? 0) + 1)
  }
  return Math.max(0, ...per.values())
}
