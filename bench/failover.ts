// node bench/failover.ts [--kills 10] — time from SIGKILL of `offerstream run` to its replacement
// writing again, with dynamic group membership and with static membership (group.instance.id).
// Also how much of it is the process start (until it logs "offerstream running": boot, schema
// check, topic check), so the group's share is visible on a loaded machine.
// node bench/failover.ts --instances 3 [--kills 10] [--no-restart] — several instances, a campaign
// for every shard every 100 ms, SIGKILL of a random instance: time until every shard's new campaigns
// land again (failover-shards.ts).
// Uses KAFKA_BROKERS/DATABASE_URL (e.g. a `stack up --brokers 3`); prints p50/max per mode.
import { randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'
import { campaignJson } from '../testkit/campaigns.ts'
import { createFixture } from '../testkit/fixture.ts'
import { quantile } from '../testkit/quantiles.ts'
import { ServiceProcess } from '../testkit/service-process.ts'
import { runShardFailover, summarize } from './failover-shards.ts'

const { values: a } = parseArgs({
  options: {
    kills: { type: 'string', default: '10' },
    instances: { type: 'string', default: '1' },
    'no-restart': { type: 'boolean', default: false },
    'interval-ms': { type: 'string', default: '100' },
    seed: { type: 'string', default: '7' },
  },
})
const kills = Number(a.kills)
const instances = Number(a.instances)

if (instances > 1) {
  const { KAFKA_BROKERS, DATABASE_URL } = process.env
  if (!KAFKA_BROKERS || !DATABASE_URL)
    throw new Error('set KAFKA_BROKERS and DATABASE_URL (e.g. eval "$(npm run -s offerstream -- stack up)")')
  const r = await runShardFailover(
    { brokers: KAFKA_BROKERS, databaseUrl: DATABASE_URL },
    { instances, kills, restart: !a['no-restart'], intervalMs: Number(a['interval-ms']), seed: Number(a.seed) },
  )
  process.stdout.write(`${summarize(r)}\n`)
  process.exit(0)
}

for (const mode of ['dynamic', 'static'] as const) {
  const fx = await createFixture({
    OFFERSTREAM_LOG_LEVEL: 'info',
    OFFERSTREAM_GROUP_INSTANCE_ID: mode === 'static' ? 'failover-bench-1' : '',
  })
  const restaurant = randomUUID()
  await fx.addSubscribers([[randomUUID(), restaurant]])
  const now = Math.floor(Date.now() / 1000)
  // A new campaign is in PostgreSQL only once a consumer of the group was assigned its partition and the writer stored it.
  const probe = async () => {
    const id = randomUUID()
    await fx.produce([campaignJson(restaurant, id, 'probe', now - 60, now + 7200, now - 30)])
    for (;;) {
      const { rowCount } = await fx.pool.query('select 1 from subscribers_feedback where adv_campaign_id = $1', [id])
      if (rowCount) return
      await new Promise(r => setTimeout(r, 20))
    }
  }
  const svc = new ServiceProcess(fx.config)
  const times: number[] = []
  const starts: number[] = []
  try {
    svc.start()
    await probe()
    for (let k = 0; k < kills; k++) {
      const t0 = Date.now()
      await svc.kill('SIGKILL')
      svc.output = ''
      svc.start()
      await probe()
      times.push(Date.now() - t0)
      const running = /"time":(\d+)[^\n]*"msg":"offerstream running"/.exec(svc.output)
      starts.push(running ? Number(running[1]) - t0 : Number.NaN)
      process.stdout.write(`${mode} kill ${k + 1}/${kills}: running after ${starts.at(-1)} ms, writing again after ${times.at(-1)} ms\n`)
    }
  } finally {
    if (svc.running) await svc.kill('SIGKILL')
    await fx.cleanup()
  }
  const line = (xs: number[]) => `p50 ${quantile(xs, 0.5)} ms, max ${Math.max(...xs)} ms`
  process.stdout.write(
    `${mode}: ${kills} kills; writing again ${line(times)}; process running ${line(starts)}; all ${JSON.stringify(times)}\n`,
  )
}
