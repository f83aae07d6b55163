// node bench/pool-demand.ts [--pool 10] [--campaigns 240] [--subscribers 400]
// How many of the service pool's connections are busy (active, or idle inside a transaction) while
// one in-process instance with all 12 shards fans out a burst: samples pg_stat_activity every
// 20 ms from first record to last push in Kafka. The pool size (OFFERSTREAM_PG_POOL_SIZE) binds when
// the busy count sits at it; compare the burst's duration across --pool values.
// Uses KAFKA_BROKERS/DATABASE_URL (a fixture with its own topics and database).
import { randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { startService } from '../src/service/app.ts'
import { createLogger } from '../src/service/logger.ts'
import { campaignJson } from '../testkit/campaigns.ts'
import { createFixture } from '../testkit/fixture.ts'

const { values: a } = parseArgs({
  options: {
    pool: { type: 'string', default: '10' },
    campaigns: { type: 'string', default: '240' },
    subscribers: { type: 'string', default: '400' },
  },
})
const [campaigns, perRestaurant] = [Number(a.campaigns), Number(a.subscribers)]
const fx = await createFixture({ OFFERSTREAM_PG_POOL_SIZE: a.pool, OFFERSTREAM_LOG_LEVEL: 'warn' })
const db = new URL(fx.config.databaseUrl).pathname.slice(1)
const restaurants = Array.from({ length: 24 }, () => randomUUID())
await fx.addSubscribers(restaurants.flatMap(r => Array.from({ length: perRestaurant }, (): [string, string] => [randomUUID(), r])))
const service = await startService(fx.config, createLogger('warn'))
const probe = new pg.Client({ connectionString: fx.config.databaseUrl })
await probe.connect()
const busy: number[] = []
const now = Math.floor(Date.now() / 1000)
const t0 = Date.now()
await fx.produce(
  Array.from({ length: campaigns }, (_, i) => campaignJson(restaurants[i % 24]!, randomUUID(), 'x', now - 60, now + 7200, now - 60)),
)
const expected = campaigns * perRestaurant
for (;;) {
  const { rows } = await probe.query<{ busy: number }>(
    `select count(*) filter (where state in ('active', 'idle in transaction'))::int as busy from pg_stat_activity
     where datname = $1 and application_name = 'offerstream' and pid <> pg_backend_pid()`,
    [db],
  )
  busy.push(rows[0]!.busy)
  const published = await service.metrics.registry.getSingleMetric('offerstream_pushes_published_total')?.get()
  if ((published?.values[0]?.value ?? 0) >= expected) break
  await new Promise(r => setTimeout(r, 20))
}
const ms = Date.now() - t0
const sorted = [...busy].sort((x, y) => x - y)
const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
const atCap = busy.filter(b => b >= Number(a.pool)).length / busy.length
console.log(
  JSON.stringify({
    pool: Number(a.pool),
    pushes: expected,
    burstMs: ms,
    samples: busy.length,
    p50: q(0.5),
    p95: q(0.95),
    max: sorted.at(-1),
    atCap: +atCap.toFixed(3),
  }),
)
await probe.end()
await service.stop()
await fx.cleanup()
