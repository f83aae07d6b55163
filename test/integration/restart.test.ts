import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'
import { eventually } from '../../testkit/service.ts'
import { ServiceProcess } from '../../testkit/service-process.ts'

let fx: Fixture
before(async () => {
  fx = await createFixture()
})
after(async () => fx?.cleanup())

test('an early campaign survives a restart and is pushed once due; SIGTERM exits 0', async () => {
  const restaurant = randomUUID()
  const clients = Array.from({ length: 5 }, () => randomUUID())
  await fx.addSubscribers(clients.map(c => [c, restaurant]))
  const t = Math.floor(Date.now() / 1000)
  const id = randomUUID()
  await fx.produce([
    JSON.stringify({
      restaurant_id: restaurant,
      adv_campaign_id: id,
      adv_campaign_content: 'later',
      // An hour ahead: pending however slowly this machine ingests it.
      adv_campaign_datetime_start: t + 3600,
      adv_campaign_datetime_end: t + 7200,
    }),
  ])
  const svc = new ServiceProcess(fx.config)
  svc.start()
  const stored = await eventually(
    async () =>
      (await fx.pool.query(`select 1 from offerstream_events where adv_campaign_id = $1 and status = 'pending'`, [id])).rowCount === 1,
    120000,
  )
  assert.ok(stored, svc.output)
  const first = await svc.kill('SIGTERM')
  assert.equal(first.code, 0, svc.output)
  assert.equal((await fx.pool.query('select 1 from subscribers_feedback')).rowCount, 0)
  // Down across the start time, without waiting an hour: the start moves into the past where the
  // writer keeps pending campaigns. The new process must find it there, due.
  const due = Math.floor(Date.now() / 1000) - 1
  // The campaign's row (its current version) and the version's event, as a record with that start would have left them.
  for (const table of ['offerstream_campaigns', 'offerstream_events'])
    await fx.pool.query(`update ${table} set adv_campaign_datetime_start = $2 where adv_campaign_id = $1`, [id, due])
  svc.start()
  const pushes = await fx.readTopic(fx.config.outputTopic, { atLeast: 5, timeoutMs: 120000, settleMs: 1000 })
  await svc.kill('SIGTERM')
  assert.deepEqual(pushes.map(p => p.key).sort(), [...clients].sort())
  for (const p of pushes) assert.equal(JSON.parse(p.value!.toString()).adv_campaign_datetime_start, due)
  assert.equal((await fx.pool.query('select 1 from subscribers_feedback')).rowCount, 5)
})
