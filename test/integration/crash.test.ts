import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'
import { eventually } from '../../testkit/service.ts'
import { ServiceProcess } from '../../testkit/service-process.ts'
import { verifySinks } from '../../testkit/sinks.ts'

// The service process is SIGKILLed several times while it fans out; after a final clean run both
// sinks must hold every expected (campaign, client) pair exactly once.
const RESTAURANTS = 4
const SUBSCRIBERS_PER_RESTAURANT = 10000
const CAMPAIGNS = 12
const KILLS = 5

let fx: Fixture

before(async () => {
  // Small chunks and transactions so kills land mid-fan-out and mid-transaction.
  fx = await createFixture({ OFFERSTREAM_FANOUT_CHUNK: '500', OFFERSTREAM_RELAY_BATCH: '700', OFFERSTREAM_INGEST_BATCH: '3' })
})
after(async () => fx?.cleanup())

test('SIGKILL mid-fan-out, repeatedly: both sinks exactly once', async () => {
  const now = Math.floor(Date.now() / 1000)
  const restaurants = Array.from({ length: RESTAURANTS }, () => randomUUID())
  const subs: Array<[string, string]> = []
  for (const r of restaurants) for (let i = 0; i < SUBSCRIBERS_PER_RESTAURANT; i++) subs.push([randomUUID(), r])
  await fx.addSubscribers(subs)
  const expected = new Set<string>()
  const values: string[] = []
  for (let i = 0; i < CAMPAIGNS; i++) {
    const r = restaurants[i % RESTAURANTS]!
    const c = randomUUID()
    values.push(
      JSON.stringify({
        restaurant_id: r,
        adv_campaign_id: c,
        adv_campaign_content: `campaign ${i}`,
        adv_campaign_datetime_start: now - 10,
        adv_campaign_datetime_end: now + 7200,
        datetime_created: now - 20,
      }),
    )
    for (const [client, rest] of subs) if (rest === r) expected.add(`${c}/${client}`)
  }
  await fx.produce(values)

  const rowCount = async () => (await fx.pool.query<{ n: number }>('select count(*)::int as n from subscribers_feedback')).rows[0]!.n
  let kills = 0
  const progress: number[] = []
  const svc = new ServiceProcess(fx.config)
  for (let k = 0; k < KILLS; k++) {
    svc.start()
    // Wait until this incarnation has written something (boot time varies with machine load), then
    // kill it at a random moment after that: early kills land in the PostgreSQL fan-out, later ones
    // in the relay. The random delay picks the moment; it waits for nothing.
    const before = await rowCount()
    const wrote = await eventually(async () => before >= expected.size || (await rowCount()) > before, 120000)
    assert.ok(wrote, `incarnation ${k + 1} wrote nothing; output:\n${svc.output.slice(-2000)}`)
    await new Promise(r => setTimeout(r, Math.random() * 300 * (k + 1)))
    const result = await svc.kill('SIGKILL')
    if (result.signal === 'SIGKILL') kills++
    progress.push(await rowCount())
  }
  // The kills must have hit the fan-out in the middle, not before it started or after it ended.
  assert.ok(
    progress.some(n => n > 0 && n < expected.size),
    `rows at each kill: ${progress.join(', ')} of ${expected.size}`,
  )
  svc.start()
  // The deadline only bounds a failure: 120,000 pushes after five kills take minutes on a loaded machine.
  const pushes = await fx.readTopic(fx.config.outputTopic, { atLeast: expected.size, timeoutMs: 400000, settleMs: 3000 })
  const stopped = await svc.kill('SIGTERM')
  assert.equal(stopped.code, 0, `clean exit on SIGTERM; output:\n${svc.output.slice(-2000)}`)
  const report = await verifySinks(fx.pool, pushes, expected)
  assert.equal(kills, KILLS)
  assert.deepEqual(report, {
    expected: expected.size,
    pg: { missing: 0, duplicated: 0, unexpected: 0, total: expected.size },
    kafka: { missing: 0, duplicated: 0, unexpected: 0, total: expected.size },
  })
})
