import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { Service } from '../../src/service/app.ts'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'
import { SEED_EVENT_VALUE, SEED_RESTAURANT, SEED_SUBSCRIBERS } from '../../testkit/seed.ts'
import { eventually, runService } from '../../testkit/service.ts'

let fx: Fixture
let service: Service

before(async () => {
  fx = await createFixture()
  await fx.addSubscribers(SEED_SUBSCRIBERS.map(([, c, r]) => [c, r]))
  service = await runService(fx.config)
})

after(async () => {
  await service?.stop()
  await fx?.cleanup()
})

test('seed example: one campaign, ten subscriptions, nine pushes and nine feedback rows', async () => {
  const before = Math.floor(Date.now() / 1000)
  await fx.produce([SEED_EVENT_VALUE])
  const pushes = await fx.readTopic(fx.config.outputTopic, { atLeast: 9 })
  assert.equal(pushes.length, 9)
  const expectedClients = SEED_SUBSCRIBERS.filter(([, , r]) => r === SEED_RESTAURANT)
    .map(([, c]) => c)
    .sort()
  assert.deepEqual(pushes.map(p => p.key).sort(), expectedClients)
  for (const p of pushes) {
    const v = p.value!.toString()
    const trigger = JSON.parse(v).trigger_datetime_created as number
    assert.ok(trigger >= before && trigger <= before + 60)
    // Byte-exact seed format with this message's client and trigger time.
    assert.equal(
      v,
      `{"restaurant_id":"123e4567-e89b-12d3-a456-426614174000","adv_campaign_id":"123e4567-e89b-12d3-a456-426614174003","adv_campaign_content":"first campaign","adv_campaign_owner":"Ivanov Ivan Ivanovich","adv_campaign_owner_contact":"iiivanov@restaurant.ru","adv_campaign_datetime_start":1659203516,"adv_campaign_datetime_end":2659207116,"client_id":"${p.key}","datetime_created":1659131516,"trigger_datetime_created":${trigger}}`,
    )
  }
  const { rows } = await fx.pool.query(
    `select restaurant_id, adv_campaign_id, adv_campaign_content, adv_campaign_owner, adv_campaign_owner_contact,
       adv_campaign_datetime_start, adv_campaign_datetime_end, datetime_created, client_id, trigger_datetime_created, feedback
     from subscribers_feedback order by client_id`,
  )
  assert.equal(rows.length, 9)
  assert.deepEqual(
    rows.map(r => r.client_id),
    expectedClients,
  )
  for (const r of rows) {
    assert.equal(r.adv_campaign_id, '123e4567-e89b-12d3-a456-426614174003')
    assert.equal(r.adv_campaign_datetime_start, 1659203516)
    assert.equal(r.feedback, null)
    const push = JSON.parse(pushes.find(p => p.key === r.client_id)!.value!.toString())
    assert.equal(r.trigger_datetime_created, push.trigger_datetime_created)
  }
})

test('the same campaign sent again pushes nothing more; a new subscriber gets it once', async () => {
  const newcomer = 'a23e4567-e89b-12d3-a456-426614174999'
  await fx.addSubscribers([[newcomer, SEED_RESTAURANT]])
  await fx.produce([SEED_EVENT_VALUE, SEED_EVENT_VALUE])
  assert.ok(
    await eventually(
      async () =>
        (await fx.pool.query(`select 1 from offerstream_events where status <> 'done'`)).rowCount === 0 &&
        (await fx.pool.query('select 1 from offerstream_events')).rowCount === 3,
    ),
  )
  const pushes = await fx.readTopic(fx.config.outputTopic, { atLeast: 10, settleMs: 1500 })
  assert.equal(pushes.length, 10)
  assert.equal(new Set(pushes.map(p => p.key)).size, 10)
  const { rows } = await fx.pool.query('select client_id, count(*)::int as n from subscribers_feedback group by client_id')
  assert.equal(rows.length, 10)
  assert.ok(rows.every(r => r.n === 1))
})
