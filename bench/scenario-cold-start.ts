import { copyAudience, sampledAudience } from '../testkit/audience.ts'
import { randomCampaign } from '../testkit/campaigns.ts'
import { percentiles } from '../testkit/quantiles.ts'
import type { Rng } from '../testkit/rng.ts'
import { watchPushes } from '../testkit/sinks.ts'
import { createBenchEnv, type Services } from './bench-env.ts'
import { createInputProducer } from './produce.ts'
import { createProgress } from './progress.ts'
import { benchService } from './service-group.ts'

/**
 * `offerstream run` → first push of a campaign that was already waiting on the input topic, visible
 * in Kafka (read_committed), with the stack up, topics and schema in place (a restart). Each start
 * is a new process; the first one also creates the consumer group.
 */
export async function runColdStart(services: Services, rng: Rng, starts: number) {
  const p = createProgress('cold start')
  const env = await createBenchEnv(services, 'coldstart')
  const input = createInputProducer(env.config.kafkaBrokers, env.config.inputTopic)
  const kafka = await watchPushes(env.config.kafkaBrokers, env.config.outputTopic, false)
  const toRunning: number[] = []
  const toFirstPush: number[] = []
  try {
    const subs = sampledAudience({ restaurants: 10, rows: 1000, skew: 0.6, clientReuse: 1 }, rng)
    await copyAudience(env.pool, subs, (done, n) => p.set(`loading subscribers ${done}/${n}`))
    const restaurant = subs.clientsOf.findIndex(c => c.length > 0)
    for (let i = 0; i < starts; i++) {
      const f = randomCampaign(subs.restaurantIds[restaurant]!, rng, Math.floor(Date.now() / 1000), false)
      await input.backlog([{ kind: 'valid', value: JSON.stringify(f), campaignId: f.adv_campaign_id, expected: 1 }])
      const k0 = kafka.seen.total
      const service = benchService(env.config)
      p.set(`start ${i + 1}/${starts}`)
      const t0 = Date.now()
      service.start()
      if (!(await kafka.seen.waitFor(k0 + 1, 60000, () => service.assertRunning()))) throw new Error('no push within 60 s of the start')
      toFirstPush.push(Date.now() - t0)
      toRunning.push((service.runningAt ?? Number.NaN) - t0)
      await service.stop()
    }
    p.done(`done: ${starts} starts`)
    return { scenario: 'coldstart', starts, toRunningMs: percentiles(toRunning), toFirstPushMs: percentiles(toFirstPush), toFirstPush }
  } finally {
    p.done()
    await kafka.close()
    await input.close()
    await env.cleanup()
  }
}
