import { randomUUID } from 'node:crypto'
import { Consumer, FetchIsolationLevels, ProduceAcks, Producer } from '@platformatic/kafka'
import type { EmbeddedServices } from '../../src/cli/dev-tools.ts'
import { configWithServices } from '../../src/cli/services.ts'
import { kafkaBaseOptions } from '../../src/kafka/client-options.ts'
import { migrate } from '../../src/pg/migrate.ts'
import { createPool } from '../../src/pg/pool.ts'
import { startService } from '../../src/service/app.ts'
import { createLogger } from '../../src/service/logger.ts'
import { SAMPLE_RESTAURANT, SAMPLE_SUBSCRIBERS, sampleCampaign } from './sample-data.ts'

const say = (m: string) => process.stdout.write(`${m}\n`)

/** `offerstream demo`: sample subscribers and campaigns through the real service, results printed. */
export async function runDemo(argv: string[], embedded: EmbeddedServices): Promise<void> {
  const config = await configWithServices(argv, m => process.stderr.write(`${m}\n`), embedded)
  const pool = createPool(config.databaseUrl, 2)
  await migrate(pool)
  await pool.query(
    `insert into subscribers_restaurants (client_id, restaurant_id)
     select c, r from unnest($1::uuid[], $2::uuid[]) as t(c, r)
     where not exists (select 1 from subscribers_restaurants s where s.client_id = t.c and s.restaurant_id = t.r)`,
    [SAMPLE_SUBSCRIBERS.map(s => s[0]), SAMPLE_SUBSCRIBERS.map(s => s[1])],
  )
  say(
    `subscribers of restaurant ${SAMPLE_RESTAURANT}: ${SAMPLE_SUBSCRIBERS.filter(s => s[1] === SAMPLE_RESTAURANT).length} (plus one of another restaurant)`,
  )
  const service = await startService({ ...config, httpEnabled: false }, createLogger('warn'))
  const now = Math.floor(Date.now() / 1000)
  // Fresh campaign ids each run: the same id again would (rightly) push nothing.
  const active = sampleCampaign(randomUUID(), 'Lunch -30% today', now - 60, now + 3 * 3600)
  const early = sampleCampaign(randomUUID(), 'Dinner deal, starts in 5 s', now + 5, now + 3 * 3600)
  const expired = sampleCampaign(randomUUID(), 'Ends in 5 min: too late to push', now - 3600, now + 300)
  const producer = new Producer({ ...kafkaBaseOptions(config, 'demo'), acks: ProduceAcks.ALL })
  await producer.send({
    messages: [active, early, expired, '{"restaurant_id": "not-a-uuid"', active].map(v => ({
      topic: config.inputTopic,
      key: Buffer.from('first_message'),
      value: Buffer.from(v),
    })),
  })
  await producer.close()
  say('published: an active campaign, an early one (starts in 5 s), an expired one, a malformed one, and the active one again')
  const wanted = new Set([JSON.parse(active).adv_campaign_id, JSON.parse(early).adv_campaign_id])
  const pushes = await readNew(config, config.outputTopic, 18, 20000, v => wanted.has(JSON.parse(v).adv_campaign_id))
  say(`\npush_message (${pushes.length}, read_committed):`)
  for (const p of pushes) say(`  ${p}`)
  const dlq = await readNew(config, config.dlqTopic, 1, 5000, v => v.includes('not-a-uuid'))
  say(`\nrestaurant_actions_dlq (${dlq.length}):`)
  for (const d of dlq) say(`  ${d}`)
  const { rows } = await pool.query(
    `select adv_campaign_content, count(*)::int as rows, count(feedback)::int as with_feedback from subscribers_feedback
     where adv_campaign_id = any($1::uuid[]) group by 1 order by 1`,
    [[...wanted]],
  )
  say('\nsubscribers_feedback:')
  for (const r of rows) say(`  ${r.adv_campaign_content}: ${r.rows} rows, feedback NULL in ${r.rows - r.with_feedback}`)
  await service.stop()
  await pool.end()
  say(`\nThe local stack keeps running: 'offerstream stack down' stops it.`)
}

async function readNew(
  config: Parameters<typeof kafkaBaseOptions>[0],
  topic: string,
  want: number,
  timeoutMs: number,
  keep: (v: string) => boolean,
): Promise<string[]> {
  const consumer = new Consumer({ ...kafkaBaseOptions(config, 'demo-reader'), groupId: `demo-${randomUUID()}` })
  const stream = await consumer.consume({
    topics: [topic],
    mode: 'earliest',
    autocommit: false,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    maxWaitTime: 200,
  })
  const out: string[] = []
  stream.on('data', m => {
    const v = m.value?.toString() ?? ''
    if (keep(v)) out.push(v)
  })
  const deadline = Date.now() + timeoutMs
  while (out.length < want && Date.now() < deadline) await new Promise(r => setTimeout(r, 100))
  await stream.close()
  await consumer.close(true)
  return out
}
