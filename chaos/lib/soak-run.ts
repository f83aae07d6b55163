import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { Fixture } from '../../testkit/fixture.ts'
import { ServiceProcess } from '../../testkit/service-process.ts'
import { PushTally } from './push-tally.ts'
import { campaignJson } from './workload.ts'

export interface SoakOptions {
  durationMs: number
  /** Target pushes per second, produced as campaigns of `subscribersPerRestaurant` clients. */
  rate: number
  sampleMs?: number
  subscribersPerRestaurant?: number
  restaurants?: number
  log?: (m: string) => void
}

interface SoakSample {
  atS: number
  rssMb: number
  expected: number
  received: number
  lag: number
}

export interface SoakReport {
  samples: SoakSample[]
  expected: number
  kafka: { received: number; duplicates: number; unexpected: number }
  pg: { total: number; distinct: number; wrongCount: number; wrongRestaurant: number }
  /** RSS after the first quarter of the run: spread around its mean, percent. */
  rss: { minMb: number; maxMb: number; meanMb: number; spreadPct: number }
  maxLag: number
  serviceAlive: boolean
  cleanExit: boolean
  output: string
}

const rssMb = (pid: number | undefined) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(pid ? readFileSync(`/proc/${pid}/status`, 'utf8') : '')
  return m ? Math.round(Number(m[1]) / 102.4) / 10 : 0
}

/**
 * Steady input at `rate` pushes/s for `durationMs` through one service process; every sample
 * records the service's RSS and the end-to-end lag (pairs owed minus pairs a read_committed
 * consumer has seen). Afterwards both sinks are checked exactly, per campaign.
 */
export async function soakRun(fx: Fixture, o: SoakOptions): Promise<SoakReport> {
  const per = o.subscribersPerRestaurant ?? 1000
  const restaurants = Array.from({ length: o.restaurants ?? 20 }, () => randomUUID())
  const clientIndex = new Map<string, { restaurant: string; i: number }>()
  const subs: Array<[string, string]> = []
  for (const r of restaurants)
    for (let i = 0; i < per; i++) {
      const c = randomUUID()
      clientIndex.set(c, { restaurant: r, i })
      subs.push([c, r])
    }
  await fx.addSubscribers(subs)
  const tally = new PushTally(fx.config, clientIndex)
  const svc = new ServiceProcess(fx.config)
  svc.start()
  const t0 = Date.now()
  const samples: SoakSample[] = []
  let campaigns = 0
  let nextSample = t0 + (o.sampleMs ?? 60000)
  const sample = () => {
    const s = {
      atS: Math.round((Date.now() - t0) / 1000),
      rssMb: rssMb(svc.pid),
      expected: campaigns * per,
      received: tally.received,
      lag: campaigns * per - tally.received,
    }
    samples.push(s)
    o.log?.(`t=${s.atS}s rss=${s.rssMb} MB expected=${s.expected} received=${s.received} lag=${s.lag} dup=${tally.duplicates}`)
  }
  while (Date.now() - t0 < o.durationMs && svc.running) {
    const now = Math.floor(Date.now() / 1000)
    const due = Math.floor(((Date.now() - t0) / 1000) * (o.rate / per)) + 1
    const values: string[] = []
    for (; campaigns < due; campaigns++) {
      const id = randomUUID()
      const r = restaurants[campaigns % restaurants.length]!
      tally.expect(id, r, per)
      values.push(campaignJson(r, id, `soak ${campaigns}`, now - 60, now + 7200, now))
    }
    if (values.length) await fx.produce(values)
    if (Date.now() >= nextSample) {
      sample()
      nextSample += o.sampleMs ?? 60000
    }
    await new Promise(r => setTimeout(r, 200))
  }
  const expected = campaigns * per
  const drainBy = Date.now() + 180000
  while (tally.received < expected && Date.now() < drainBy && svc.running) await new Promise(r => setTimeout(r, 500))
  sample()
  await new Promise(r => setTimeout(r, 3000)) // a quiet period to catch duplicates
  const serviceAlive = svc.running
  const stopped = serviceAlive ? await svc.kill('SIGTERM') : { code: -1 }
  await tally.close()
  const pg = await checkFeedback(fx, per)
  const steady = samples.slice(Math.floor(samples.length / 4), -1).map(s => s.rssMb)
  const meanMb = steady.reduce((a, b) => a + b, 0) / Math.max(1, steady.length)
  const [minMb, maxMb] = [Math.min(...steady), Math.max(...steady)]
  const spreadPct = meanMb ? Math.round((Math.max(maxMb - meanMb, meanMb - minMb) / meanMb) * 1000) / 10 : 0
  return {
    samples,
    expected,
    kafka: { received: tally.received, duplicates: tally.duplicates, unexpected: tally.unexpected },
    pg,
    rss: { minMb, maxMb, meanMb: Math.round(meanMb * 10) / 10, spreadPct },
    maxLag: Math.max(...samples.slice(0, -1).map(s => s.lag), 0),
    serviceAlive,
    cleanExit: stopped.code === 0,
    output: svc.output,
  }
}

async function checkFeedback(fx: Fixture, per: number) {
  const q = async (sql: string, values: unknown[] = []) => (await fx.pool.query(sql, values)).rows[0].n as number
  return {
    total: await q('select count(*)::int as n from subscribers_feedback'),
    distinct: await q('select count(*)::int as n from (select distinct adv_campaign_id, client_id from subscribers_feedback) d'),
    wrongCount: await q(
      'select count(*)::int as n from (select adv_campaign_id from subscribers_feedback group by 1 having count(*) <> $1) w',
      [per],
    ),
    wrongRestaurant: await q(
      'select count(*)::int as n from subscribers_feedback f where not exists (select 1 from subscribers_restaurants s where s.client_id = f.client_id and s.restaurant_id = f.restaurant_id)',
    ),
  }
}
