import os from 'node:os'
import { copyAudience, exactAudience } from '../testkit/audience.ts'
import { randomCampaign } from '../testkit/campaigns.ts'
import type { Rng } from '../testkit/rng.ts'
import { watchFeedbackCommits, watchPushes } from '../testkit/sinks.ts'
import { createBenchEnv, type Services } from './bench-env.ts'
import { cpuSeconds, cpuSnapshot } from './cpu-usage.ts'
import { countPushes, landed } from './landed.ts'
import { watchCursor } from './observe.ts'
import { createInputProducer } from './produce.ts'
import { createProgress } from './progress.ts'
import { benchService } from './service-group.ts'
import { warmUp } from './warm-up.ts'

/**
 * One campaign to `subscribers` followers of one restaurant, with the service as its own process:
 * time from produce to the last push visible in each sink, and the service's peak RSS (VmHWM, which
 * includes start-up and the small warm-up campaign to a second restaurant).
 */
export async function runBigFanout(
  services: Services,
  rng: Rng,
  subscribers: number,
  serviceEnv: Record<string, string>,
  nodeArgs: string[],
) {
  const p = createProgress('big fan-out')
  const env = await createBenchEnv(services, 'bigfanout', serviceEnv)
  const service = benchService(env.config, nodeArgs)
  const input = createInputProducer(env.config.kafkaBrokers, env.config.inputTopic)
  const kafka = await watchPushes(env.config.kafkaBrokers, env.config.outputTopic, false)
  const pg = await watchFeedbackCommits(env.config.databaseUrl, false)
  const cursor = await watchCursor(env.config.kafkaBrokers, env.config.stateTopic)
  try {
    // Restaurant 0: the big one, every subscriber a distinct client. Restaurant 1: ten, for the warm-up.
    const subs = exactAudience([subscribers, 10], rng)
    await copyAudience(env.pool, subs, (done, n) => p.set(`loading subscribers ${done}/${n}`))
    service.start()
    await service.ready()
    p.set('warming up')
    await warmUp(env, subs, rng, input, kafka.seen, pg.seen)
    const rssBeforeMb = Math.round(service.peakRssKb / 1024)
    // From here on Kafka is timed by the relay cursor; the bench stops decoding pushes (see watchCursor).
    const k0 = kafka.seen.total
    await kafka.close()
    const p0 = pg.seen.total
    const f = randomCampaign(subs.restaurantIds[0]!, rng, Math.floor(Date.now() / 1000), false)
    const cpu0 = cpuSnapshot([service.pid])
    const { startedAt } = await input.backlog([
      { kind: 'valid', value: JSON.stringify(f), campaignId: f.adv_campaign_id, expected: subscribers },
    ])
    const tick = () => {
      service.assertRunning()
      p.set(`rows committed: ${pg.seen.total - p0}/${subscribers}, service peak RSS ${Math.round(service.peakRssKb / 1024)} MB`)
    }
    const { pgAt, kafkaAt } = await landed(env, pg.seen, p0 + subscribers, cursor, tick)
    const cpu = cpuSeconds(cpu0, cpuSnapshot([service.pid]), (Math.max(pgAt, kafkaAt) - startedAt) / 1000, os.cpus().length)
    await service.stop()
    p.set('counting pushes in Kafka (untimed)')
    const counted = await countPushes(env.config.kafkaBrokers, env.config.outputTopic, k0 + subscribers)
    p.done(`done: kafka ${counted.total - k0}/${subscribers}, postgres ${pg.seen.total - p0}/${subscribers}`)
    const kafkaSeconds = (kafkaAt - startedAt) / 1000
    const pgSeconds = (pgAt - startedAt) / 1000
    return {
      scenario: 'bigFanout',
      subscribers,
      kafkaPushes: counted.total - k0,
      pgPushes: pg.seen.total - p0,
      kafkaSeconds,
      pgSeconds,
      perSecond: subscribers / Math.max(kafkaSeconds, pgSeconds),
      cpuSeconds: cpu,
      rssAfterWarmUpMb: rssBeforeMb,
      peakRssMb: Math.round(service.peakRssKb / 1024),
    }
  } finally {
    p.done()
    await service.stop().catch(() => {})
    await kafka.close()
    await cursor.close()
    await pg.close()
    await input.close()
    await env.cleanup()
  }
}
