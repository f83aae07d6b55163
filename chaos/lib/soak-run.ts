import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { publishedCursors } from '../../src/kafka/published-cursor.ts'
import { pruneBookkeeping } from '../../src/service/retention.ts'
import { campaignJson } from '../../testkit/campaigns.ts'
import type { Fixture } from '../../testkit/fixture.ts'
import { ServiceProcess } from '../../testkit/service-process.ts'
import { PushTally } from './push-tally.ts'

export interface SoakOptions {
  durationMs: number
  /** Target pushes per second, produced as campaigns of `subscribersPerRestaurant` clients. */
  rate: number
  sampleMs?: number
  subscribersPerRestaurant?: number
  restaurants?: number
  /** Each campaign's window from its produce time (default 2 h); under `prune`, set the margin below it. */
  campaignSeconds?: number
  /** Runs `prune` in-process every `everyMs` with a short --older-than, and samples the table sizes. */
  prune?: { everyMs: number; olderThanSeconds: number; feedbackToo?: boolean }
  log?: (m: string) => void
}

interface TableCounts {
  events: number
  fanouts: number
  rejects: number
  prunedRanges: number
  feedback: number
}

interface SoakSample {
  atS: number
  rssMb: number
  expected: number
  received: number
  lag: number
  tables?: TableCounts
}

export interface SoakReport {
  samples: SoakSample[]
  expected: number
  kafka: { received: number; duplicates: number; unexpected: number }
  pg: { total: number; distinct: number; wrongCount: number; wrongRestaurant: number }
  /** RSS after the first quarter of the run: spread around its mean, percent. */
  rss: { minMb: number; maxMb: number; meanMb: number; spreadPct: number }
  maxLag: number
  /** With `prune`: rows it deleted, and the tables once every campaign had ended and been pruned. */
  pruned?: { runs: number; events: number; fanouts: number; feedbackRows: number; seconds: number; final: TableCounts }
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
  let nextPrune = t0 + (o.prune?.everyMs ?? 0)
  let lastEnd = 0
  const pruned = { runs: 0, events: 0, fanouts: 0, feedbackRows: 0, seconds: 0 }
  const prune = async () => {
    if (!o.prune) return
    const r = await pruneBookkeeping(fx.pool, {
      cutoff: Math.floor(Date.now() / 1000) - o.prune.olderThanSeconds,
      published: await publishedCursors(fx.config),
      batch: 10000,
      feedbackToo: o.prune.feedbackToo ?? false,
    })
    pruned.runs++
    pruned.events += r.events
    pruned.fanouts += r.fanouts
    pruned.feedbackRows += r.feedbackRows
    pruned.seconds += r.seconds
  }
  const sample = async () => {
    const s: SoakSample = {
      atS: Math.round((Date.now() - t0) / 1000),
      rssMb: rssMb(svc.pid),
      expected: campaigns * per,
      received: tally.received,
      lag: campaigns * per - tally.received,
      ...(o.prune ? { tables: await tableCounts(fx) } : {}),
    }
    samples.push(s)
    const tables = s.tables ? ` tables=${JSON.stringify(s.tables)}` : ''
    o.log?.(`t=${s.atS}s rss=${s.rssMb} MB expected=${s.expected} received=${s.received} lag=${s.lag} dup=${tally.duplicates}${tables}`)
  }
  while (Date.now() - t0 < o.durationMs && svc.running) {
    const now = Math.floor(Date.now() / 1000)
    const due = Math.floor(((Date.now() - t0) / 1000) * (o.rate / per)) + 1
    const values: string[] = []
    for (; campaigns < due; campaigns++) {
      const id = randomUUID()
      const r = restaurants[campaigns % restaurants.length]!
      tally.expect(id, r, per)
      lastEnd = now + (o.campaignSeconds ?? 7200)
      values.push(campaignJson(r, id, `soak ${campaigns}`, now - 60, lastEnd, now))
    }
    if (values.length) await fx.produce(values)
    if (o.prune && Date.now() >= nextPrune) {
      await prune()
      nextPrune += o.prune.everyMs
    }
    if (Date.now() >= nextSample) {
      await sample()
      nextSample += o.sampleMs ?? 60000
    }
    await new Promise(r => setTimeout(r, 200))
  }
  const expected = campaigns * per
  const drainBy = Date.now() + 180000
  while (tally.received < expected && Date.now() < drainBy && svc.running) await new Promise(r => setTimeout(r, 500))
  await sample()
  await new Promise(r => setTimeout(r, 3000)) // a quiet period to catch duplicates
  let final: TableCounts | undefined
  if (o.prune) {
    // Until the last campaign has ended past the cut-off and its bookkeeping is gone.
    const by = Date.now() + ((o.campaignSeconds ?? 7200) + o.prune.olderThanSeconds) * 1000 + 60000
    for (;;) {
      await prune()
      final = await tableCounts(fx)
      if ((final.events === 0 && Math.floor(Date.now() / 1000) > lastEnd + o.prune.olderThanSeconds) || Date.now() > by) break
      await new Promise(r => setTimeout(r, 1000))
    }
  }
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
    ...(final ? { pruned: { ...pruned, seconds: Math.round(pruned.seconds * 1000) / 1000, final } } : {}),
    serviceAlive,
    cleanExit: stopped.code === 0,
    output: svc.output,
  }
}

async function tableCounts(fx: Fixture): Promise<TableCounts> {
  const { rows } = await fx.pool.query(`select (select count(*) from offerstream_events)::int as events,
    (select count(*) from offerstream_fanouts)::int as fanouts, (select count(*) from offerstream_rejects)::int as rejects,
    (select count(*) from offerstream_pruned_fanouts)::int as "prunedRanges", (select count(*) from subscribers_feedback)::int as feedback`)
  return rows[0]
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
