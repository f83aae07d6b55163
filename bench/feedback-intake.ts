// node bench/feedback-intake.ts [--pushes 40000] [--batch 1000]
// Feedback intake rate through Kafka: fans one campaign out to --pushes subscribers, queues ~2.5
// feedback events per push on push_feedback (a backlog), then starts `offerstream run` and times
// how fast they land in offerstream_feedback (first to last row committed, from received_at).
// Uses KAFKA_BROKERS/DATABASE_URL (a fixture with its own topics and database).
import { randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'
import { campaignJson } from '../testkit/campaigns.ts'
import { buildFeedbackWorkload } from '../testkit/feedback-workload.ts'
import { createFixture } from '../testkit/fixture.ts'
import { ServiceProcess } from '../testkit/service-process.ts'
import { waitForFeedback } from '../testkit/sinks.ts'

const { values: a } = parseArgs({ options: { pushes: { type: 'string', default: '40000' }, batch: { type: 'string', default: '1000' } } })
const pushes = Number(a.pushes)
const say = (m: string) => process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${m}\n`)

const fx = await createFixture({ OFFERSTREAM_LOG_LEVEL: 'warn', OFFERSTREAM_INGEST_BATCH: a.batch })
const svc = new ServiceProcess(fx.config)
try {
  const restaurant = randomUUID()
  const clients = Array.from({ length: pushes }, () => randomUUID())
  await fx.addSubscribers(clients.map(c => [c, restaurant]))
  const now = Math.floor(Date.now() / 1000)
  const campaign = randomUUID()
  await fx.produce([campaignJson(restaurant, campaign, 'bench', now - 60, now + 7200, now - 60)])
  svc.start()
  await waitForFeedback(fx, pushes, 600000)
  await svc.kill('SIGTERM')
  say(`${pushes} pushes stored; queueing feedback`)

  // No retries and no bad records: this measures the plain path.
  const w = buildFeedbackWorkload(
    clients.map(c => `${campaign}/${c}`),
    { nowSeconds: now, repeat: Number.MAX_SAFE_INTEGER, badEvery: Number.MAX_SAFE_INTEGER },
  )
  const values = w.values.filter(v => !w.bad.has(v))
  for (let i = 0; i < values.length; i += 2000) await fx.produce(values.slice(i, i + 2000), 'app', fx.config.feedbackTopic)
  say(`${values.length} feedback records queued (${w.events.size} distinct events); starting the service`)

  const t0 = Date.now()
  svc.start()
  const deadline = Date.now() + 600000
  let n = 0
  while (Date.now() < deadline) {
    n = (await fx.pool.query('select count(*)::int as n from offerstream_feedback')).rows[0].n
    if (n >= w.events.size) break
    await new Promise(r => setTimeout(r, 200))
  }
  const wall = (Date.now() - t0) / 1000
  const { rows } = await fx.pool.query(
    'select extract(epoch from max(received_at) - min(received_at))::float8 as s, count(*)::int as n from offerstream_feedback',
  )
  const stages = await fx.pool.query('select count(*)::int as n from subscribers_feedback where feedback is not null')
  await svc.kill('SIGTERM')
  say(
    `${rows[0].n} events stored: ${Math.round(rows[0].n / rows[0].s).toLocaleString('en-US')} events/s (first to last commit, ${rows[0].s.toFixed(1)} s); ` +
      `${wall.toFixed(1)} s from service start incl. startup and group join; ${stages.rows[0].n} pushes with a stage`,
  )
} finally {
  if (svc.running) await svc.kill('SIGKILL')
  await fx.cleanup()
}
