import os from 'node:os'
import { type Audience, copyAudience, sampledAudience } from '../testkit/audience.ts'
import { type CampaignEvent, campaignStream, countKinds, expectedPushes, type Mix } from '../testkit/campaigns.ts'
import type { Rng } from '../testkit/rng.ts'
import { watchFeedbackCommits, watchPushes } from '../testkit/sinks.ts'
import { createBenchEnv, type Services, suppressedPairs } from './bench-env.ts'
import { throttlingSince } from './cpu-cgroup.ts'
import { cpuSeconds, cpuSnapshot, stackPids } from './cpu-usage.ts'
import { pushesPerInstance } from './instance-shares.ts'
import { countPushes, landed } from './landed.ts'
import { watchCursor } from './observe.ts'
import { samplePgWaits } from './pg-waits.ts'
import { createInputProducer } from './produce.ts'
import { createProgress } from './progress.ts'
import { ServiceGroup } from './service-group.ts'
import { warmBacklog } from './warm-backlog.ts'
import { warmUp } from './warm-up.ts'

export interface ThroughputOptions {
  pushes: number
  restaurants: number
  rows: number
  skew: number
  mix: Mix
  serviceEnv: Record<string, string>
  nodeArgs: string[]
  /** `offerstream run` processes sharing the work (1 = the single service). */
  instances: number
  /** Cores each instance may use; undefined: uncapped. */
  cpuPerInstance: number | undefined
  /**
   * Pushes of a first backlog, of the same shape, that every instance works through before the
   * measured one (0: none): JIT compilation and heap growth are a start-up cost each instance pays
   * once, and in a run of a few seconds they weigh on N instances N times.
   */
  warmPushes: number
}

/**
 * A backlog of campaigns produced as fast as the broker takes them into a running, idle service.
 * Rate = pushes / (last push visible − first campaign produced), per sink and for both.
 */
export async function runThroughput(services: Services, rng: Rng, o: ThroughputOptions) {
  const p = createProgress('throughput')
  const env = await createBenchEnv(services, 'throughput', o.serviceEnv)
  const service = new ServiceGroup(env.config, { instances: o.instances, cpuPerInstance: o.cpuPerInstance, nodeArgs: o.nodeArgs })
  const input = createInputProducer(env.config.kafkaBrokers, env.config.inputTopic)
  const kafka = await watchPushes(env.config.kafkaBrokers, env.config.outputTopic, false)
  const pg = await watchFeedbackCommits(env.config.databaseUrl, false)
  const cursor = await watchCursor(env.config.kafkaBrokers, env.config.stateTopic)
  try {
    const subs = sampledAudience({ restaurants: o.restaurants, rows: o.rows, skew: o.skew, clientReuse: 3 }, rng)
    await copyAudience(env.pool, subs, (done, n) => p.set(`loading subscribers ${done}/${n}`))
    const events = campaignStream(subs, rng, o.mix, { targetPushes: o.pushes }, Math.floor(Date.now() / 1000))
    const expected = expectedPushes(events)
    service.start()
    await service.ready()
    p.set('warming up')
    await warmUp(env, subs, rng, input, kafka.seen, pg.seen)
    if (o.warmPushes > 0) await warmBacklog(env, subs, rng, o, input, { kafka: kafka.seen, pg: pg.seen, cursor }, p)
    // From here on Kafka is timed by the relay cursor; the bench stops decoding pushes (see watchCursor).
    const k0 = kafka.seen.total
    await kafka.close()
    const p0 = pg.seen.total
    const s0 = await suppressedPairs(env)
    const stack = stackPids(env.config.kafkaBrokers, env.config.databaseUrl)
    const cpu0 = cpuSnapshot(service.pids, stack)
    const throttled0 = service.throttling()
    const waits = samplePgWaits(env.pool)
    const { startedAt, endedAt } = await input.backlog(events, p)
    const tick = () => {
      service.assertRunning()
      p.set(`rows committed: ${pg.seen.total - p0}/${expected}`)
    }
    const { pgAt, kafkaAt } = await landed(env, pg.seen, p0 + expected, cursor, tick)
    const cpu = cpuSeconds(cpu0, cpuSnapshot(service.pids, stack), (Math.max(pgAt, kafkaAt) - startedAt) / 1000, os.cpus().length)
    // Where a CPU quota bites (CFS periods each capped instance was throttled in) and what the
    // database's backends waited for, over the same window.
    const throttling = service.throttling().map((t, i) => throttlingSince(throttled0[i]!, t))
    const pgWaits = await waits.stop()
    const perInstance = await pushesPerInstance(env, events)
    p.set('counting pushes in Kafka (untimed)')
    // Pairs a frequency cap suppressed (0 with the caps off) are decided but never pushed.
    const suppressed = (await suppressedPairs(env)) - s0
    const counted = await countPushes(env.config.kafkaBrokers, env.config.outputTopic, k0 + expected - suppressed)
    p.done(`done: kafka ${counted.total - k0}/${expected}, postgres ${pg.seen.total - p0}/${expected}`)
    const kafkaS = (kafkaAt - startedAt) / 1000
    const pgS = (pgAt - startedAt) / 1000
    const bothS = Math.max(kafkaS, pgS)
    await service.stop()
    const result = {
      scenario: 'throughput',
      options: o,
      campaigns: events.length,
      kinds: countKinds(events),
      produceSeconds: (endedAt - startedAt) / 1000,
      expectedPushes: expected,
      suppressed,
      kafkaPushes: counted.total - k0,
      pgPushes: pg.seen.total - p0,
      kafkaSeconds: kafkaS,
      pgSeconds: pgS,
      kafkaPerSecond: expected / kafkaS,
      pgPerSecond: expected / pgS,
      bothPerSecond: expected / bothS,
      cpuSeconds: cpu,
      throttling,
      pgWaits,
      servicePeakRssMb: service.peakRssMb,
      /** The measured pushes per owning instance (largest first): how evenly the shards split the work. */
      perInstance,
    }
    return { result, subs, events }
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

export type ThroughputRun = { subs: Audience; events: CampaignEvent[] }
