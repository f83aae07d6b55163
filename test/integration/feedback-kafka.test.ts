import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import type { Service } from '../../src/service/app.ts'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'
import { eventually, runService } from '../../testkit/service.ts'

// The Kafka door: push_feedback in, offerstream_feedback and the push's stage out, bad records to
// the feedback DLQ with their bytes and reason; duplicates change nothing.
let fx: Fixture
let service: Service
before(async () => {
  fx = await createFixture()
  service = await runService(fx.config)
})
after(async () => {
  await service?.stop()
  await fx?.cleanup()
})

const now = () => Math.floor(Date.now() / 1000)
const count = async (sql: string, values: unknown[]) => (await fx.pool.query(sql, values)).rows[0].n as number

test('good, duplicate, unknown and malformed feedback through push_feedback', async () => {
  const restaurant = randomUUID()
  const [a, b] = [randomUUID(), randomUUID()]
  await fx.addSubscribers([
    [a, restaurant],
    [b, restaurant],
  ])
  const campaign = randomUUID()
  const t = now()
  await fx.produce([
    JSON.stringify({
      restaurant_id: restaurant,
      adv_campaign_id: campaign,
      adv_campaign_content: 'soup',
      adv_campaign_datetime_start: t - 10,
      adv_campaign_datetime_end: t + 7200,
    }),
  ])
  assert.ok(await eventually(async () => (await count('select count(*)::int as n from subscribers_feedback', [])) === 2))

  const fb = (client: string, feedback: string, at: number) =>
    JSON.stringify({ adv_campaign_id: campaign, client_id: client, feedback, datetime_created: at })
  const [delivered, opened, dismissed] = [fb(a, 'delivered', t + 1), fb(a, 'opened', t + 2), fb(b, 'dismissed', t + 3)]
  const unknown = JSON.stringify({ adv_campaign_id: campaign, client_id: randomUUID(), feedback: 'opened', datetime_created: t })
  const liked = JSON.stringify({ adv_campaign_id: campaign, client_id: a, feedback: 'liked', datetime_created: t })
  // Each good one twice, the second copy interleaved with the bad ones.
  await fx.produce(
    [delivered, opened, dismissed, unknown, opened, 'not json', liked, null, delivered, dismissed],
    'app',
    fx.config.feedbackTopic,
  )

  const dlq = await fx.readTopic(fx.config.feedbackDlqTopic, { atLeast: 4 })
  const codes = new Map(dlq.map(d => [d.value?.toString() ?? null, d.headers.get('offerstream.error.code')]))
  assert.deepEqual(
    codes,
    new Map([
      [unknown, 'unknown_push'],
      ['not json', 'not_json'],
      [liked, 'schema'],
      [null, 'tombstone'],
    ]),
  )
  for (const d of dlq) {
    assert.equal(d.key, 'app')
    assert.equal(d.headers.get('offerstream.source.topic'), fx.config.feedbackTopic)
  }
  assert.match(dlq.find(d => d.value?.toString() === liked)?.headers.get('offerstream.error.reason') ?? '', /feedback/)
  assert.match(dlq.find(d => d.value?.toString() === unknown)?.headers.get('offerstream.error.reason') ?? '', /no push/)

  assert.ok(await eventually(async () => (await count('select count(*)::int as n from offerstream_feedback', [])) === 3))
  const { rows } = await fx.pool.query(
    'select client_id, feedback, source from offerstream_feedback where adv_campaign_id = $1 order by datetime_created',
    [campaign],
  )
  assert.deepEqual(rows, [
    { client_id: a, feedback: 'delivered', source: 'kafka' },
    { client_id: a, feedback: 'opened', source: 'kafka' },
    { client_id: b, feedback: 'dismissed', source: 'kafka' },
  ])
  const stages = await fx.pool.query('select client_id, feedback from subscribers_feedback order by client_id')
  assert.deepEqual(
    new Map(stages.rows.map(r => [r.client_id, r.feedback])),
    new Map([
      [a, 'opened'],
      [b, 'dismissed'],
    ]),
  )
  // Nothing of this went to the campaigns' DLQ.
  assert.equal(await count('select count(*)::int as n from offerstream_rejects where source_topic <> $1', [fx.config.feedbackTopic]), 0)
})
