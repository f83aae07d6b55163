import { randomUUID } from 'node:crypto'
import os from 'node:os'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { shardOf } from '../src/core/shard.ts'
import { type Audience, copyAudience, exactAudience } from '../testkit/audience.ts'
import { type CampaignEvent, randomCampaign } from '../testkit/campaigns.ts'
import { type Percentiles, percentiles } from '../testkit/quantiles.ts'
import type { Rng } from '../testkit/rng.ts'
import type { ServiceProcess } from '../testkit/service-process.ts'
import { type Seen, watchFeedbackCommits } from '../testkit/sinks.ts'
import { type BenchEnv, createBenchEnv, type Services } from './bench-env.ts'
import { createInputProducer, type InputProducer } from './produce.ts'
import { createProgress, type Progress } from './progress.ts'
import { watchPushesApart } from './push-watcher.ts'
import { benchService } from './service-group.ts'
import { warmUp } from './warm-up.ts'

export interface SmallBigOptions {
  /** Subscribers of the big campaign's restaurant. */
  big: number
  /** Small campaigns produced per second, alone and during the big fan-out. */
  perSecond: number
  /** Seconds of small campaigns alone. */
  aloneSeconds: number
  /** Subscribers of each small restaurant. */
  smallSubscribers: number
  serviceEnv: Record<string, string>
  nodeArgs: string[]
}

// Small restaurants the small campaigns take turns on.
const SMALL_RESTAURANTS = 20

/** What the measurement needs, opened once per run. */
interface Run {
  o: SmallBigOptions
  env: BenchEnv
  service: ServiceProcess
  input: InputProducer
  kafka: Seen
  pg: Seen
  p: Progress
}

/** Campaign id → when it was produced (ms). */
type Sent = Map<string, number>

/**
 * Small campaigns at a steady rate, each timed from produce to its last push visible (Kafka,
 * read_committed; PostgreSQL, the chunk's commit by its NOTIFY): first alone, then while one big
 * campaign fans out, until the big one's last push is visible. Every other small campaign has an id
 * in the big campaign's shard (its relay publishes behind the big one's rows: the case issue 18
 * measured); the rest fall in any shard.
 */
export async function runSmallDuringBig(services: Services, rng: Rng, o: SmallBigOptions) {
  const p = createProgress('small during big')
  const env = await createBenchEnv(services, 'smallbig', o.serviceEnv)
  const service = benchService(env.config, o.nodeArgs)
  const input = createInputProducer(env.config.kafkaBrokers, env.config.inputTopic)
  const kafka = await watchPushesApart(env.config.kafkaBrokers, env.config.outputTopic)
  const pg = await watchFeedbackCommits(env.config.databaseUrl, false)
  try {
    // Restaurant 0: the big one; 1..20: the small ones, each client following one restaurant only.
    const subs = exactAudience([o.big, ...Array<number>(SMALL_RESTAURANTS).fill(o.smallSubscribers)], rng)
    await copyAudience(env.pool, subs, (done, n) => p.set(`loading subscribers ${done}/${n}`))
    service.start()
    await service.ready()
    p.set('warming up')
    await warmUp(env, subs, rng, input, kafka.seen, pg.seen)
    return await measure({ o, env, service, input, kafka: kafka.seen, pg: pg.seen, p }, subs, rng)
  } finally {
    p.done()
    await service.stop().catch(() => {})
    await kafka.close()
    await pg.close()
    await input.close()
    await env.cleanup()
  }
}

/** The two phases (alone, during the big fan-out), the exactness check and the result. */
async function measure(r: Run, subs: Audience, rng: Rng) {
  const { o, env, kafka, pg, p } = r
  const shards = env.config.shards
  const now = () => Math.floor(Date.now() / 1000)
  const big = randomCampaign(subs.restaurantIds[0]!, rng, now(), false)
  const bigId = big.adv_campaign_id
  const bigShard = shardOf(bigId, shards)
  const small = smallCampaigns(subs, rng, o.smallSubscribers, shards, bigShard)

  p.set(`small campaigns alone, ${o.perSecond}/s for ${o.aloneSeconds} s`)
  const alone = await paced(r.input, small, o.perSecond, sent => sent.size >= o.perSecond * o.aloneSeconds)
  await allSeen(alone, o.smallSubscribers, [kafka, pg], r.service)

  p.set(`big campaign to ${o.big.toLocaleString('en-US')} subscribers, small ones at ${o.perSecond}/s meanwhile`)
  const load0 = os.loadavg()[0]!
  // The bench's own clock: a busy event loop here would delay the send times and notifications it takes.
  const benchLoop = monitorEventLoopDelay({ resolution: 5 })
  benchLoop.enable()
  const { startedAt } = await r.input.backlog([{ kind: 'valid', value: JSON.stringify(big), campaignId: bigId, expected: o.big }])
  const count = (s: Seen, id: string) => s.byCampaign.get(id)?.count ?? 0
  const during = await paced(r.input, small, o.perSecond, () => {
    r.service.assertRunning()
    p.set(`big: kafka ${count(kafka, bigId)}/${o.big}, postgres ${count(pg, bigId)}/${o.big}`)
    return count(kafka, bigId) >= o.big && count(pg, bigId) >= o.big
  })
  await allSeen(during, o.smallSubscribers, [kafka, pg], r.service)
  benchLoop.disable()
  await new Promise(res => setTimeout(res, 1000)) // anything beyond the expected counts would be a duplicate
  const load1 = os.loadavg()[0]!
  const smallIds = [...alone.keys(), ...during.keys()]
  const exact = [kafka, pg].every(s => count(s, bigId) === o.big && smallIds.every(c => count(s, c) === o.smallSubscribers))
  await r.service.stop()
  p.done(`done: big fan-out kafka ${count(kafka, bigId)}/${o.big}, exact in both sinks: ${exact}`)
  const inShard = (sent: Sent, same: boolean) => new Map([...sent].filter(([c]) => (shardOf(c, shards) === bigShard) === same))
  return {
    scenario: 'smallDuringBig',
    options: o,
    shards,
    exact,
    loadDuring: [load0, load1],
    benchLoopDelayMs: { p99: Math.round(benchLoop.percentile(99) / 1e6), max: Math.round(benchLoop.max / 1e6) },
    big: {
      subscribers: o.big,
      kafkaSeconds: (kafka.byCampaign.get(bigId)!.last - startedAt) / 1000,
      pgSeconds: (pg.byCampaign.get(bigId)!.last - startedAt) / 1000,
    },
    kafka: {
      alone: lastPush(kafka, alone),
      during: lastPush(kafka, during),
      duringSameShard: lastPush(kafka, inShard(during, true)),
      duringOtherShards: lastPush(kafka, inShard(during, false)),
    },
    pg: { alone: lastPush(pg, alone), during: lastPush(pg, during) },
  }
}

/**
 * Small campaigns taking turns on restaurants 1..20; every other one gets an id in the big
 * campaign's shard (re-drawn unseeded until it lands there, as the warm-up's shard cover does).
 */
function smallCampaigns(subs: Audience, rng: Rng, subscribers: number, shards: number, bigShard: number): () => CampaignEvent {
  let n = 0
  return () => {
    const restaurant = 1 + (n % SMALL_RESTAURANTS)
    const f = randomCampaign(subs.restaurantIds[restaurant]!, rng, Math.floor(Date.now() / 1000), false)
    if (n++ % 2 === 0) while (shardOf(f.adv_campaign_id, shards) !== bigShard) f.adv_campaign_id = randomUUID()
    return { kind: 'valid', value: JSON.stringify(f), campaignId: f.adv_campaign_id, restaurant, expected: subscribers }
  }
}

/** Sends next() at perSecond until done(sent) says so (checked before each send). */
async function paced(input: InputProducer, next: () => CampaignEvent, perSecond: number, done: (sent: Sent) => boolean): Promise<Sent> {
  const sent: Sent = new Map()
  const t0 = Date.now()
  for (let i = 0; !done(sent); i++) {
    const wait = t0 + (i * 1000) / perSecond - Date.now()
    if (wait > 0) await new Promise(r => setTimeout(r, wait))
    const e = next()
    // paced() takes its time right before the send, as the latency scenario does.
    const [at] = await input.paced([e], perSecond)
    sent.set(e.campaignId!, at!)
  }
  return sent
}

async function allSeen(sent: Sent, each: number, sinks: Seen[], service: ServiceProcess): Promise<void> {
  const deadline = Date.now() + 120000
  const ok = () => sinks.every(s => [...sent.keys()].every(c => (s.byCampaign.get(c)?.count ?? 0) >= each))
  while (!ok()) {
    service.assertRunning()
    if (Date.now() > deadline) throw new Error('small campaigns not all visible within 120 s')
    await new Promise(r => setTimeout(r, 20))
  }
}

/** Per small campaign: produce → its last push visible (ms). */
function lastPush(seen: Seen, sent: Sent): Percentiles {
  return percentiles([...sent].map(([c, at]) => seen.byCampaign.get(c)!.last - at))
}
