import type { Audience } from '../testkit/audience.ts'
import { campaignStream, expectedPushes, type Mix } from '../testkit/campaigns.ts'
import type { Rng } from '../testkit/rng.ts'
import type { Seen } from '../testkit/sinks.ts'
import { type BenchEnv, suppressedPairs } from './bench-env.ts'
import { landed } from './landed.ts'
import type { watchCursor } from './observe.ts'
import type { InputProducer } from './produce.ts'
import type { Progress } from './progress.ts'

interface Sinks {
  kafka: Seen
  pg: Seen
  cursor: Awaited<ReturnType<typeof watchCursor>>
}

/**
 * A first backlog of `warmPushes` pushes, drawn after the measured one (so a seed's measured workload
 * is unchanged), worked through before the measurement starts: every instance then runs compiled
 * code on a grown heap, as a long-running one does. Waits until both sinks have all of it, and the
 * bench's own Kafka observer too, so the measured window's counts start from a settled total.
 */
export async function warmBacklog(
  env: BenchEnv,
  subs: Audience,
  rng: Rng,
  o: { warmPushes: number; mix: Mix },
  input: InputProducer,
  s: Sinks,
  p: Progress,
): Promise<void> {
  const events = campaignStream(subs, rng, o.mix, { targetPushes: o.warmPushes }, Math.floor(Date.now() / 1000))
  const want = expectedPushes(events)
  const s0 = await suppressedPairs(env)
  const k0 = s.kafka.total
  const p0 = s.pg.total
  p.set(`warm-up backlog: ${want.toLocaleString('en-US')} pushes`)
  await input.backlog(events)
  await landed(env, s.pg, p0 + want, s.cursor, () => p.set(`warm-up backlog: rows committed ${s.pg.total - p0}/${want}`))
  // With a frequency cap on, PostgreSQL's count includes the pairs it suppressed, which Kafka never gets.
  const suppressed = (await suppressedPairs(env)) - s0
  if (!(await s.kafka.waitFor(k0 + want - suppressed, 120000))) {
    throw new Error(`warm-up backlog: the bench's Kafka observer saw ${s.kafka.total - k0} of ${want - suppressed} pushes within 2 minutes`)
  }
}
