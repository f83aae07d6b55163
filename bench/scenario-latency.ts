import os from 'node:os'
import { copyAudience, sampledAudience } from '../testkit/audience.ts'
import { type CampaignEvent, campaignStream, countKinds, expectedPushes, type Mix } from '../testkit/campaigns.ts'
import { type Percentiles, percentiles } from '../testkit/quantiles.ts'
import type { Rng } from '../testkit/rng.ts'
import { type Seen, watchFeedbackCommits, watchPushes } from '../testkit/sinks.ts'
import { createBenchEnv, type Services } from './bench-env.ts'
import { cpuSeconds, cpuSnapshot, stackPids } from './cpu-usage.ts'
import { createInputProducer } from './produce.ts'
import { createProgress } from './progress.ts'
import { ServiceGroup } from './service-group.ts'
import { warmUp } from './warm-up.ts'

export interface LatencyOptions {
  perSecond: number
  seconds: number
  /** Seconds of the same traffic before the measurement (JIT of the broker, the service and PostgreSQL; caches). */
  warmSeconds: number
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
}

/**
 * Campaign produced → push visible, at a steady campaign rate. Latency of a push = the time the
 * bench's read_committed consumer received it (Kafka), or the bench got the NOTIFY of the chunk
 * that wrote its row (PostgreSQL, delivered at commit), minus the moment right before the bench sent
 * its campaign to restaurant_actions. Also per campaign: until its last push was visible.
 */
export async function runLatency(services: Services, rng: Rng, o: LatencyOptions) {
  const p = createProgress('latency')
  const env = await createBenchEnv(services, 'latency', o.serviceEnv)
  const service = new ServiceGroup(env.config, { instances: o.instances, cpuPerInstance: o.cpuPerInstance, nodeArgs: o.nodeArgs })
  const input = createInputProducer(env.config.kafkaBrokers, env.config.inputTopic)
  const kafka = await watchPushes(env.config.kafkaBrokers, env.config.outputTopic, true)
  const pg = await watchFeedbackCommits(env.config.databaseUrl, true)
  try {
    const subs = sampledAudience({ restaurants: o.restaurants, rows: o.rows, skew: o.skew, clientReuse: 3 }, rng)
    await copyAudience(env.pool, subs, (done, n) => p.set(`loading subscribers ${done}/${n}`))
    const events = campaignStream(subs, rng, o.mix, { count: Math.round(o.perSecond * o.seconds) }, Math.floor(Date.now() / 1000))
    const expected = expectedPushes(events)
    service.start()
    await service.ready()
    p.set('warming up')
    await warmUp(env, subs, rng, input, kafka.seen, pg.seen)
    if (o.warmSeconds > 0) {
      const warm = campaignStream(subs, rng, o.mix, { count: Math.round(o.perSecond * o.warmSeconds) }, Math.floor(Date.now() / 1000))
      const target = expectedPushes(warm)
      const [kw, pw] = [kafka.seen.total, pg.seen.total]
      p.set(`warming up: ${o.warmSeconds} s of the same traffic, not measured`)
      await input.paced(warm, o.perSecond)
      await kafka.seen.waitFor(kw + target, 60000)
      await pg.seen.waitFor(pw + target, 60000)
    }
    const k0 = kafka.seen.total
    const p0 = pg.seen.total
    // CPU of the measured window, per process kind: the broker's share is the quiet rate's idle cost
    // (consumer-group heartbeats, fetches, transactions); only this run's stack counts as kafka and postgres.
    const stack = stackPids(env.config.kafkaBrokers, env.config.databaseUrl)
    const snap = () => cpuSnapshot(service.pids, stack)
    const cpu0 = snap()
    const t0 = Date.now()
    const producedAt = await input.paced(events, o.perSecond, p)
    const tick = () => {
      service.assertRunning()
      p.set(`pushes visible: kafka ${kafka.seen.total - k0}/${expected}, postgres ${pg.seen.total - p0}/${expected}`)
    }
    await kafka.seen.waitFor(k0 + expected, 120000, tick)
    await pg.seen.waitFor(p0 + expected, 120000, tick)
    const windowSeconds = (Date.now() - t0) / 1000
    const cpu = cpuSeconds(cpu0, snap(), windowSeconds, os.cpus().length)
    await new Promise(r => setTimeout(r, 1000)) // anything beyond the expected count would be a duplicate
    p.done(`done: kafka ${kafka.seen.total - k0}/${expected}, postgres ${pg.seen.total - p0}/${expected}`)
    const sent = sentAt(events, producedAt)
    const result = {
      scenario: 'latency',
      options: o,
      campaigns: events.length,
      kinds: countKinds(events),
      expectedPushes: expected,
      kafkaPushes: kafka.seen.total - k0,
      pgPushes: pg.seen.total - p0,
      kafkaPerPush: perPush(kafka.seen, sent),
      pgPerPush: perPush(pg.seen, sent),
      kafkaCampaignDone: perCampaign(kafka.seen, sent),
      pgCampaignDone: perCampaign(pg.seen, sent),
      servicePeakRssMb: 0,
      cpuSeconds: { ...cpu, seconds: Math.round(windowSeconds * 10) / 10 },
    }
    await service.stop()
    result.servicePeakRssMb = service.peakRssMb
    return result
  } finally {
    p.done()
    await service.stop().catch(() => {})
    await kafka.close()
    await pg.close()
    await input.close()
    await env.cleanup()
  }
}

function sentAt(events: CampaignEvent[], producedAt: number[]): Map<string, number> {
  const m = new Map<string, number>()
  events.forEach((e, i) => {
    if (e.kind === 'valid') m.set(e.campaignId!, producedAt[i]!)
  })
  return m
}

function perPush(seen: Seen, sent: Map<string, number>): Percentiles {
  const out: number[] = []
  for (const [c, at] of seen.pushTimes ?? []) {
    const t = sent.get(c)
    if (t !== undefined) out.push(at - t)
  }
  return percentiles(out)
}

function perCampaign(seen: Seen, sent: Map<string, number>): Percentiles {
  const out: number[] = []
  for (const [c, t] of sent) {
    const s = seen.byCampaign.get(c)
    if (s) out.push(s.last - t)
  }
  return percentiles(out)
}
