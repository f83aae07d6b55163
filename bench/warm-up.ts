import type { BenchEnv } from './bench-env.ts'
import { campaignFields } from './campaigns.ts'
import type { Seen } from './observe.ts'
import type { InputProducer } from './produce.ts'
import type { Rng } from './rng.ts'
import type { Subscribers } from './workload.ts'

/**
 * Sends one small campaign and waits until its pushes are visible in both sinks: the service's input
 * consumer has joined its group, the relay has produced once, and the bench's own consumer is
 * assigned, so the measurement that follows does not include any start-up cost.
 */
export async function warmUp(env: BenchEnv, subs: Subscribers, rng: Rng, input: InputProducer, kafka: Seen, pg: Seen): Promise<string> {
  let smallest = -1
  subs.clientsOf.forEach((c, i) => {
    if (c.length > 0 && (smallest < 0 || c.length < subs.clientsOf[smallest]!.length)) smallest = i
  })
  const f = campaignFields(subs, smallest, rng, Math.floor(Date.now() / 1000), false)
  const n = subs.clientsOf[smallest]!.length
  const k0 = kafka.total
  const p0 = pg.total
  await input.backlog([{ kind: 'valid', value: JSON.stringify(f), campaignId: f.adv_campaign_id, expected: n }])
  const ok = (await kafka.waitFor(k0 + n, 60000)) && (await pg.waitFor(p0 + n, 60000))
  if (!ok)
    throw new Error(`warm-up campaign not seen in both sinks within 60 s (database ${env.config.databaseUrl.replace(/\/\/.*@/, '//')})`)
  return f.adv_campaign_id
}
