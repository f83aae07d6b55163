// `node bench/http-feedback.ts [--seconds 10] [--connections 4]`: HTTP feedback intake rate. The
// service runs as its own process (offerstream run); keep-alive clients POST /v1/feedback in
// batches of 100 and of 1, every item a distinct event for a push that exists, so every item is
// really recorded (offerstream_feedback insert + subscribers_feedback stage update). Uses
// KAFKA_BROKERS and DATABASE_URL (e.g. from `offerstream stack up`).
import { randomBytes, randomUUID } from 'node:crypto'
import { createServer } from 'node:net'
import { parseArgs } from 'node:util'
import { Admin } from '@platformatic/kafka'
import { FEEDBACK_KINDS } from '../src/core/feedback.ts'
import { quantile } from '../testkit/quantiles.ts'
import { createBenchEnv } from './bench-env.ts'
import { benchService } from './service-group.ts'

const { values: a } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, connections: { type: 'string', default: '4' } } })
const SECONDS = Number(a.seconds)
const CONNECTIONS = Number(a.connections)
const PUSHES = 20000
const TOKEN = randomBytes(16).toString('hex')

const brokers = process.env.KAFKA_BROKERS
const databaseUrl = process.env.DATABASE_URL
if (!brokers || !databaseUrl) throw new Error('set KAFKA_BROKERS and DATABASE_URL (eval "$(npm run -s offerstream -- stack up)")')

const port = await new Promise<number>(resolve => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = (s.address() as { port: number }).port
    s.close(() => resolve(p))
  })
})
const suffix = randomBytes(3).toString('hex')
const env = await createBenchEnv({ brokers, databaseUrl }, 'http', {
  OFFERSTREAM_HTTP_ENABLED: 'true',
  OFFERSTREAM_HTTP_PORT: String(port),
  OFFERSTREAM_API_TOKEN: TOKEN,
  OFFERSTREAM_FEEDBACK_TOPIC: `bench_fb_${suffix}`,
  OFFERSTREAM_FEEDBACK_DLQ_TOPIC: `bench_fbdlq_${suffix}`,
})
const campaign = randomUUID()
const now = Math.floor(Date.now() / 1000)
// The pushes the feedback refers to, written directly: this measures intake, not fan-out.
const { rows: clients } = await env.pool.query<{ client_id: string }>(
  `insert into subscribers_feedback (restaurant_id, adv_campaign_id, adv_campaign_content, adv_campaign_datetime_start,
     adv_campaign_datetime_end, datetime_created, client_id, trigger_datetime_created)
   select gen_random_uuid(), $1, 'bench', $2, $3, $2, gen_random_uuid(), $2 from generate_series(1, $4) returning client_id`,
  [campaign, now - 60, now + 86400, PUSHES],
)
const service = benchService(env.config)

let seq = 0
function item() {
  const n = seq++
  const client = clients[n % PUSHES]?.client_id
  return { adv_campaign_id: campaign, client_id: client, feedback: FEEDBACK_KINDS[n % 5], datetime_created: now + Math.floor(n / PUSHES) }
}

async function run(batch: number) {
  const latencies: number[] = []
  const outcomes = new Map<string, number>()
  const end = Date.now() + SECONDS * 1000
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (Date.now() < end) {
        const body = batch === 1 ? item() : { items: Array.from({ length: batch }, item) }
        const start = performance.now()
        const res = await fetch(`http://127.0.0.1:${port}/v1/feedback`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
        const json = (await res.json()) as { outcome?: string; results?: Array<{ outcome: string }> }
        latencies.push(performance.now() - start)
        for (const r of json.results ?? [json])
          outcomes.set(r.outcome ?? `http ${res.status}`, (outcomes.get(r.outcome ?? `http ${res.status}`) ?? 0) + 1)
      }
    }),
  )
  const seconds = (performance.now() - t0) / 1000
  const q = (p: number) => quantile(latencies, p).toFixed(1)
  const items = [...outcomes.values()].reduce((x, y) => x + y, 0)
  return {
    batch,
    connections: CONNECTIONS,
    requestsPerSecond: Math.round(latencies.length / seconds),
    itemsPerSecond: Math.round(items / seconds),
    p50ms: q(0.5),
    p99ms: q(0.99),
    outcomes: Object.fromEntries(outcomes),
  }
}

try {
  service.start()
  await service.ready()
  const results = [await run(100), await run(1)]
  console.table(results.map(r => ({ ...r, outcomes: JSON.stringify(r.outcomes) })))
  const { rows } = await env.pool.query('select count(*)::int as n from offerstream_feedback')
  console.log(`offerstream_feedback rows: ${rows[0].n}`)
} finally {
  await service.stop()
  const admin = new Admin({ clientId: `bench-cleanup-${suffix}`, bootstrapBrokers: env.config.kafkaBrokers })
  await admin.deleteTopics({ topics: [env.config.feedbackTopic, env.config.feedbackDlqTopic] }).catch(() => {})
  await admin.close().catch(() => {})
  await env.cleanup()
}
