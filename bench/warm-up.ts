import { randomUUID } from 'node:crypto'
import { shardOf } from '../src/core/shard.ts'
import type { Audience } from '../testkit/audience.ts'
import { type CampaignEvent, randomCampaign } from '../testkit/campaigns.ts'
import type { Rng } from '../testkit/rng.ts'
import type { Seen } from '../testkit/sinks.ts'
import { type BenchEnv, suppressedPairs } from './bench-env.ts'
import type { InputProducer } from './produce.ts'

/**
 * Sends one small campaign per shard and waits until their pushes are visible in both sinks: the
 * service's input consumer has joined its group, whoever owns each shard has produced once, and the
 * bench's own consumer is assigned, so the measurement that follows does not include any start-up
 * cost. (With one writer for everything, one campaign would do; with shards owned by several
 * instances, each owner starts up on its own.)
 */
export async function warmUp(env: BenchEnv, subs: Audience, rng: Rng, input: InputProducer, kafka: Seen, pg: Seen): Promise<void> {
  let smallest = -1
  subs.clientsOf.forEach((c, i) => {
    if (c.length > 0 && (smallest < 0 || c.length < subs.clientsOf[smallest]!.length)) smallest = i
  })
  const now = Math.floor(Date.now() / 1000)
  const n = subs.clientsOf[smallest]!.length
  const shards = env.config.shards
  const events: CampaignEvent[] = []
  const covered = new Set<number>()
  // The first id comes from the seeded generator as it always did, so the workloads drawn after the
  // warm-up stay the same for a seed; the ids that cover the other shards do not need to be seeded.
  let f = randomCampaign(subs.restaurantIds[smallest]!, rng, now, false)
  while (covered.size < shards) {
    const shard = shardOf(f.adv_campaign_id, shards)
    if (!covered.has(shard)) {
      covered.add(shard)
      events.push({ kind: 'valid', value: JSON.stringify(f), campaignId: f.adv_campaign_id, expected: n })
    }
    f = { ...f, adv_campaign_id: randomUUID() }
  }
  const k0 = kafka.total
  const p0 = pg.total
  const s0 = await suppressedPairs(env)
  await input.backlog(events)
  const want = n * events.length
  // With a frequency cap on, PostgreSQL's count includes the pairs it suppressed, which Kafka never gets.
  const pgOk = await pg.waitFor(p0 + want, 60000)
  const suppressed = (await suppressedPairs(env)) - s0
  const ok = pgOk && (await kafka.waitFor(k0 + want - suppressed, 60000))
  if (!ok)
    throw new Error(
      `warm-up campaigns (one per shard) not all seen in both sinks within 60 s: kafka ${kafka.total - k0}, postgres ${pg.total - p0} of ${want} ` +
        `(database ${env.config.databaseUrl.replace(/\/\/.*@/, '//')})`,
    )
}
