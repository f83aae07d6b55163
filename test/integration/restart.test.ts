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

test('an early campaign survives a restart and is pushed at its start; SIGTERM exits 0', async () => {
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
      adv_campaign_datetime_start: t + 8,
      adv_campaign_datetime_end: t + 7200,
    }),
  ])
  const svc = new ServiceProcess(fx.config)
  svc.start()
  const stored = await eventually(
    async () =>
      (await fx.pool.query(`select 1 from offerstream_events where adv_campaign_id = $1 and status = 'pending'`, [id])).rowCount === 1,
  )
  assert.ok(stored, svc.output)
  const first = await svc.kill('SIGTERM')
  assert.equal(first.code, 0, svc.output)
  assert.equal((await fx.pool.query('select 1 from subscribers_feedback')).rowCount, 0)
  // Down across the start time; the new process finds the campaign in PostgreSQL.
  await new Promise(r => setTimeout(r, Math.max(0, (t + 9) * 1000 - Date.now())))
  svc.start()
  const pushes = await fx.readTopic(fx.config.outputTopic, { atLeast: 5, timeoutMs: 30000, settleMs: 1000 })
  await svc.kill('SIGTERM')
  assert.deepEqual(pushes.map(p => p.key).sort(), [...clients].sort())
  assert.equal((await fx.pool.query('select 1 from subscribers_feedback')).rowCount, 5)
})
