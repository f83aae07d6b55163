import { campaignJson } from '../../testkit/campaigns.ts'
import type { Fixture } from '../../testkit/fixture.ts'
import { badValue, goodContent } from '../../testkit/hostile.ts'
import { createRng } from '../../testkit/rng.ts'
import { ServiceProcess } from '../../testkit/service-process.ts'
import { checkSinks, type SinkReport } from '../../testkit/sinks.ts'
import { checkDlq, type DlqReport } from './dlq-check.ts'

export interface FuzzReport {
  bad: number
  good: number
  kinds: Record<string, number>
  dlq: DlqReport
  sinks: SinkReport
  /** Good campaigns whose hostile content did not come back byte for byte (PG or Kafka). */
  contentMismatches: number
  serviceAlive: boolean
  cleanExit: boolean
  output: string
}

/**
 * Produces `bad` hostile values with a good campaign every `goodEvery` of them, through one service
 * process. Every bad value must reach the DLQ with its bytes and a reason, every good campaign
 * must be pushed exactly once with its content verbatim, and the process must stay up.
 */
export async function fuzzRun(
  fx: Fixture,
  o: { bad: number; goodEvery?: number; seed?: number; log?: (m: string) => void },
): Promise<FuzzReport> {
  const r = createRng(o.seed ?? 1)
  const now = Math.floor(Date.now() / 1000)
  const goodEvery = o.goodEvery ?? 100
  const restaurant = r.uuid()
  const clients = [r.uuid(), r.uuid(), r.uuid()]
  await fx.addSubscribers(clients.map(c => [c, restaurant]))
  const svc = new ServiceProcess(fx.config)
  svc.start()
  const expected = new Set<string>()
  const contents = new Map<string, string>()
  const badValues: Array<Buffer | null> = []
  const kinds: Record<string, number> = {}
  let batch: Array<Buffer | null> = []
  let good = 0
  let bytes = 0
  const flush = async () => {
    // produce() takes strings or buffers; null stays a null value (a tombstone).
    if (batch.length) await fx.produce(batch as Array<Buffer | null> as never)
    batch = []
    bytes = 0
  }
  for (let i = 0; i < o.bad; i++) {
    const [kind, value] = badValue(r, now)
    kinds[kind] = (kinds[kind] ?? 0) + 1
    badValues.push(value)
    batch.push(value)
    bytes += value?.length ?? 0
    if (i % goodEvery === 0) {
      const id = r.uuid()
      const content = goodContent(r, good++)
      contents.set(id, content)
      for (const c of clients) expected.add(`${id}/${c}`)
      batch.push(Buffer.from(campaignJson(restaurant, id, content, now - 60, now + 7200, now - 60)))
    }
    // The broker takes about 1 MB per request; the harness's own producer must stay below that.
    if (batch.length >= 2000 || bytes > 500_000) await flush()
  }
  await flush()
  o.log?.(`produced ${o.bad} bad and ${good} good values: ${JSON.stringify(kinds)}`)
  const sinks = await checkSinks(fx, expected, 600000)
  const dlq = await checkDlq(fx, badValues, 180000)
  const contentMismatches = await countMismatches(fx, contents)
  const serviceAlive = svc.running
  const stopped = serviceAlive ? await svc.kill('SIGTERM') : { code: -1 }
  return { bad: o.bad, good, kinds, dlq, sinks, contentMismatches, serviceAlive, cleanExit: stopped.code === 0, output: svc.output }
}

async function countMismatches(fx: Fixture, contents: Map<string, string>): Promise<number> {
  const { rows } = await fx.pool.query<{ id: string; content: string }>(
    'select distinct adv_campaign_id::text as id, adv_campaign_content as content from subscribers_feedback',
  )
  let bad = 0
  for (const row of rows) if (contents.get(row.id) !== row.content) bad++
  const pushes = await fx.readTopic(fx.config.outputTopic, { atLeast: 1, timeoutMs: 30000, settleMs: 1000 })
  for (const p of pushes) {
    const v = JSON.parse(p.value!.toString())
    if (contents.get(v.adv_campaign_id) !== v.adv_campaign_content) bad++
  }
  return bad
}
