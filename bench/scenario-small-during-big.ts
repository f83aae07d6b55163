import { randomUUID } from 'node:crypto'
import os from 'node:os'
import { shardOf } from '../src/core/shard.ts'
import { createBenchEnv, type Services } from './bench-env.ts'
import { type BenchEvent, campaignFields } from './campaigns.ts'
import { type Seen, watchKafka, watchPostgres } from './observe.ts'
import { createInputProducer, type InputProducer } from './produce.ts'
import { createProgress } from './progress.ts'
import { type Percentiles, percentiles } from './report.ts'
import type { Rng } from './rng.ts'
import { BenchService } from './service-proc.ts'
import { warmUp } from './warm-up.ts'
import { copySubscribers, type Subscribers } from './workload.ts'

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

/**
 * Small campaigns at a steady rate, each timed from produce to its last push visible (Kafka,
 * read_committed; PostgreSQL, the chunk's commit): first alone, then while one big campaign fans
 * out, until the big one's last push is visible. Every other small campaign has an id in the big
 * campaign's shard (its relay publishes behind the big one's rows: the case issue 18 measured);
 * the rest fall in any shard.
 */
export async function runSmallDuringBig(services: Services, rng: Rng, o: SmallBigOptions) {
  const p = createProgress('small during big')
  const env = await createBenchEnv(services, 'smallbig', o.serviceEnv)
  const service = new BenchService(env.config, o.nodeArgs)
  const input = createInputProducer(env.config.kafkaBrokers, env.config.inputTopic)
  const kafka = await watchKafka(env.config.kafkaBrokers, env.config.outputTopic, false)
  const pg = await watchPostgres(env.config.databaseUrl, false)
  try {
    const bigClients = Array.from({ length: o.big }, () => rng.uuid()).sort()
    const smallClients = Array.from({ length: SMALL_RESTAURANTS }, () =>
      Array.from({ length: o.smallSubscribers }, () => rng.uuid()).sort(),
    )
    const clientsOf = [bigClients, ...smallClients]
    const rowClient = clientsOf.flat()
    const rowRestaurant = Int32Array.from(clientsOf.flatMap((c, r) => c.map(() => r)))
    const subs: Subscribers = { restaurantIds: clientsOf.map(() => rng.uuid()), clientsOf, rowRestaurant, rowClient }
    await copySubscribers(env.pool, subs, p)
    service.start()
    await service.ready()
    p.set('warming up')
    await warmUp(env, subs, rng, input, kafka.seen, pg.seen)
    const now = () => Math.floor(Date.now() / 1000)
    const bigFields = campaignFields(subs, 0, rng, now(), false)
    const bigShard = shardOf(bigFields.adv_campaign_id, env.config.shards)
    let n = 0
    const small = (): BenchEvent => {
      const f = campaignFields(subs, 1 + (n % SMALL_RESTAURANTS), rng, now(), false)
      if (n++ % 2 === 0) while (shardOf(f.adv_campaign_id, env.config.shards) !== bigShard) f.adv_campaign_id = randomUUID()
      return { kind: 'valid', value: JSON.stringify(f), campaignId: f.adv_campaign_id, expected: o.smallSubscribers }
    }

    p.set(`small campaigns alone, ${o.perSecond}/s for ${o.aloneSeconds} s`)
    const alone = await paced(input, small, o.perSecond, () => n >= o.perSecond * o.aloneSeconds)
    await allSeen(alone.sent, o.smallSubscribers, [kafka.seen, pg.seen], service)

    p.set(`big campaign to ${o.big.toLocaleString('en-US')} subscribers, small ones at ${o.perSecond}/s meanwhile`)
    const load0 = os.loadavg()[0]!
    const { startedAt } = await input.backlog([
      { kind: 'valid', value: JSON.stringify(bigFields), campaignId: bigFields.adv_campaign_id, expected: o.big },
    ])
    const bigId = bigFields.adv_campaign_id
    const bigDone = (s: Seen) => (s.byCampaign.get(bigId)?.count ?? 0) >= o.big
    const during = await paced(input, small, o.perSecond, () => {
      service.assertRunning()
      p.set(
        `big: kafka ${kafka.seen.byCampaign.get(bigId)?.count ?? 0}/${o.big}, postgres ${pg.seen.byCampaign.get(bigId)?.count ?? 0}/${o.big}`,
      )
      return bigDone(kafka.seen) && bigDone(pg.seen)
    })
    await allSeen(during.sent, o.smallSubscribers, [kafka.seen, pg.seen], service)
    await new Promise(r => setTimeout(r, 1000)) // anything beyond the expected counts would be a duplicate
    const load1 = os.loadavg()[0]!
    const exact = [kafka.seen, pg.seen].every(
      s =>
        s.byCampaign.get(bigId)?.count === o.big &&
        [...alone.sent.keys(), ...during.sent.keys()].every(c => s.byCampaign.get(c)?.count === o.smallSubscribers),
    )
    await service.stop()
    p.done(`done: big fan-out kafka ${kafka.seen.byCampaign.get(bigId)?.count}/${o.big}, exact in both sinks: ${exact}`)
    const inShard = (sent: Map<string, number>, same: boolean) =>
      new Map([...sent].filter(([c]) => (shardOf(c, env.config.shards) === bigShard) === same))
    const row = (s: Seen, sent: Map<string, number>) => lastPush(s, sent)
    return {
      scenario: 'smallDuringBig',
      options: o,
      shards: env.config.shards,
      exact,
      loadDuring: [load0, load1],
      big: {
        subscribers: o.big,
        kafkaSeconds: (kafka.seen.byCampaign.get(bigId)!.last - startedAt) / 1000,
        pgSeconds: (pg.seen.byCampaign.get(bigId)!.last - startedAt) / 1000,
      },
      kafka: {
        alone: row(kafka.seen, alone.sent),
        during: row(kafka.seen, during.sent),
        duringSameShard: row(kafka.seen, inShard(during.sent, true)),
        duringOtherShards: row(kafka.seen, inShard(during.sent, false)),
      },
      pg: { alone: row(pg.seen, alone.sent), during: row(pg.seen, during.sent) },
    }
  } finally {
    p.done()
    await service.stop().catch(() => {})
    await kafka.close()
    await pg.close()
    await input.close()
    await env.cleanup()
  }
}

/** Sends next() at perSecond until done() says so (checked before each send); campaign id → produce time. */
async function paced(input: InputProducer, next: () => BenchEvent, perSecond: number, done: () => boolean) {
  const sent = new Map<string, number>()
  const t0 = Date.now()
  for (let i = 0; !done(); i++) {
    const wait = t0 + (i * 1000) / perSecond - Date.now()
    if (wait > 0) await new Promise(r => setTimeout(r, wait))
    const e = next()
    // paced() takes its time right before the send, as the latency scenario does.
    const [at] = await input.paced([e], perSecond)
    sent.set(e.campaignId!, at!)
  }
  return { sent }
}

async function allSeen(sent: Map<string, number>, each: number, sinks: Seen[], service: BenchService): Promise<void> {
  const deadline = Date.now() + 120000
  const ok = () => sinks.every(s => [...sent.keys()].every(c => (s.byCampaign.get(c)?.count ?? 0) >= each))
  while (!ok()) {
    service.assertRunning()
    if (Date.now() > deadline) throw new Error('small campaigns not all visible within 120 s')
    await new Promise(r => setTimeout(r, 20))
  }
}

/** Per small campaign: produce → its last push visible (ms). */
function lastPush(seen: Seen, sent: Map<string, number>): Percentiles {
  return percentiles([...sent].map(([c, at]) => seen.byCampaign.get(c)!.last - at))
}
