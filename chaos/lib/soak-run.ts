import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { publishedCursors } from '../../src/kafka/published-cursor.ts'
import { pruneBookkeeping } from '../../src/service/retention.ts'
import { exactAudience, subscriptionPairs } from '../../testkit/audience.ts'
import { campaignJson } from '../../testkit/campaigns.ts'
import type { Fixture } from '../../testkit/fixture.ts'
import { unseededRng } from '../../testkit/rng.ts'
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
  /** offerstream_campaigns rows. */
  campaigns: number
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
  pruned?: { runs: number; events: number; campaigns: number; fanouts: number; feedbackRows: number; seconds: number; final: TableCounts }
  serviceAlive: boolean
  cleanExit: boolean
  output: string
}

const rssMb = (pid: number | undefined) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(pid ? readFileSync(`/proc/${pid}/status`, 'utf8') : '')
  return m ? Math.round(Number(m[1]) / 102.4) / 10 : 0
}

/** The soak's restaurants, each with its own `per` clients, indexed for the push tally. */
async function soakAudience(fx: Fixture, restaurants: number, per: number) {
  const audience = exactAudience(Array<number>(restaurants).fill(per), unseededRng())
  const clientIndex = new Map<string, { restaurant: string; i: number }>()
  audience.clientsOf.forEach((clients, r) => {
    for (const [i, c] of clients.entries()) clientIndex.set(c, { restaurant: audience.restaurantIds[r]!, i })
  })
  await fx.addSubscribers(subscriptionPairs(audience))
  return { restaurants: audience.restaurantIds, clientIndex }
}

/** One soak in progress: produces what is due, prunes and samples on their own clocks. */
class Soak {
  readonly samples: SoakSample[] = []
  readonly pruned = { runs: 0, events: 0, campaigns: 0, fanouts: 0, feedbackRows: 0, seconds: 0 }
  campaigns = 0
  lastEnd = 0
  readonly t0 = Date.now()

  readonly fx: Fixture
  readonly o: SoakOptions
  readonly per: number
  readonly restaurants: string[]
  readonly tally: PushTally
  readonly svc: ServiceProcess

  constructor(fx: Fixture, o: SoakOptions, per: number, restaurants: string[], tally: PushTally, svc: ServiceProcess) {
    this.fx = fx
    this.o = o
    this.per = per
    this.restaurants = restaurants
    this.tally = tally
    this.svc = svc
  }

  get expected(): number {
    return this.campaigns * this.per
  }

  /** The campaigns the rate owes by now, produced in one batch. */
  async produceDue(): Promise<void> {
    const now = Math.floor(Date.now() / 1000)
    const due = Math.floor(((Date.now() - this.t0) / 1000) * (this.o.rate / this.per)) + 1
    const values: string[] = []
    for (; this.campaigns < due; this.campaigns++) {
      const id = randomUUID()
      const r = this.restaurants[this.campaigns % this.restaurants.length]!
      this.tally.expect(id, r, this.per)
      this.lastEnd = now + (this.o.campaignSeconds ?? 7200)
      values.push(campaignJson(r, id, `soak ${this.campaigns}`, now - 60, this.lastEnd, now))
    }
    if (values.length) await this.fx.produce(values)
  }

  async prune(): Promise<void> {
    const p = this.o.prune
    if (!p) return
    const r = await pruneBookkeeping(this.fx.pool, {
      cutoff: Math.floor(Date.now() / 1000) - p.olderThanSeconds,
      published: await publishedCursors(this.fx.config),
      batch: 10000,
      feedbackToo: p.feedbackToo ?? false,
    })
    this.pruned.runs++
    this.pruned.events += r.events
    this.pruned.campaigns += r.campaigns
    this.pruned.fanouts += r.fanouts
    this.pruned.feedbackRows += r.feedbackRows
    this.pruned.seconds += r.seconds
  }

  async sample(): Promise<void> {
    const s: SoakSample = {
      atS: Math.round((Date.now() - this.t0) / 1000),
      rssMb: rssMb(this.svc.pid),
      expected: this.expected,
      received: this.tally.received,
      lag: this.expected - this.tally.received,
      ...(this.o.prune ? { tables: await tableCounts(this.fx) } : {}),
    }
    this.samples.push(s)
    const tables = s.tables ? ` tables=${JSON.stringify(s.tables)}` : ''
    this.o.log?.(
      `t=${s.atS}s rss=${s.rssMb} MB expected=${s.expected} received=${s.received} lag=${s.lag} dup=${this.tally.duplicates}${tables}`,
    )
  }

  /** Steady input for the run's duration, pruning and sampling on their own intervals. */
  async steady(): Promise<void> {
    const sampleMs = this.o.sampleMs ?? 60000
    let nextSample = this.t0 + sampleMs
    let nextPrune = this.t0 + (this.o.prune?.everyMs ?? 0)
    while (Date.now() - this.t0 < this.o.durationMs && this.svc.running) {
      await this.produceDue()
      if (this.o.prune && Date.now() >= nextPrune) {
        await this.prune()
        nextPrune += this.o.prune.everyMs
      }
      if (Date.now() >= nextSample) {
        await this.sample()
        nextSample += sampleMs
      }
      await new Promise(r => setTimeout(r, 200))
    }
  }

  /** Until the last campaign has ended past the cut-off and its bookkeeping is gone. */
  async pruneToTheEnd(): Promise<TableCounts> {
    const p = this.o.prune!
    const by = Date.now() + ((this.o.campaignSeconds ?? 7200) + p.olderThanSeconds) * 1000 + 60000
    for (;;) {
      await this.prune()
      const final = await tableCounts(this.fx)
      if (
        (final.events === 0 && final.campaigns === 0 && Math.floor(Date.now() / 1000) > this.lastEnd + p.olderThanSeconds) ||
        Date.now() > by
      )
        return final
      await new Promise(r => setTimeout(r, 1000))
    }
  }
}

/** RSS after the first quarter of the run (the last sample, taken after the drain, left out): spread around its mean. */
function rssSpread(samples: SoakSample[]) {
  const steady = samples.slice(Math.floor(samples.length / 4), -1).map(s => s.rssMb)
  const meanMb = steady.reduce((a, b) => a + b, 0) / Math.max(1, steady.length)
  const [minMb, maxMb] = [Math.min(...steady), Math.max(...steady)]
  const spreadPct = meanMb ? Math.round((Math.max(maxMb - meanMb, meanMb - minMb) / meanMb) * 1000) / 10 : 0
  return { minMb, maxMb, meanMb: Math.round(meanMb * 10) / 10, spreadPct }
}

/**
 * Steady input at `rate` pushes/s for `durationMs` through one service process; every sample
 * records the service's RSS and the end-to-end lag (pairs owed minus pairs a read_committed
 * consumer has seen). Afterwards both sinks are checked exactly, per campaign.
 */
export async function soakRun(fx: Fixture, o: SoakOptions): Promise<SoakReport> {
  const per = o.subscribersPerRestaurant ?? 1000
  const { restaurants, clientIndex } = await soakAudience(fx, o.restaurants ?? 20, per)
  const tally = new PushTally(fx.config, clientIndex)
  const svc = new ServiceProcess(fx.config)
  svc.start()
  const soak = new Soak(fx, o, per, restaurants, tally, svc)
  await soak.steady()
  const expected = soak.expected
  const drainBy = Date.now() + 180000
  while (tally.received < expected && Date.now() < drainBy && svc.running) await new Promise(r => setTimeout(r, 500))
  await soak.sample()
  await new Promise(r => setTimeout(r, 3000)) // a quiet period to catch duplicates
  const final = o.prune ? await soak.pruneToTheEnd() : undefined
  const serviceAlive = svc.running
  const stopped = serviceAlive ? await svc.kill('SIGTERM') : { code: -1 }
  await tally.close()
  const { samples, pruned } = soak
  return {
    samples,
    expected,
    kafka: { received: tally.received, duplicates: tally.duplicates, unexpected: tally.unexpected },
    pg: await checkFeedback(fx, per),
    rss: rssSpread(samples),
    maxLag: Math.max(...samples.slice(0, -1).map(s => s.lag), 0),
    ...(final ? { pruned: { ...pruned, seconds: Math.round(pruned.seconds * 1000) / 1000, final } } : {}),
    serviceAlive,
    cleanExit: stopped.code === 0,
    output: svc.output,
  }
}

async function tableCounts(fx: Fixture): Promise<TableCounts> {
  const { rows } = await fx.pool.query(`select (select count(*) from offerstream_events)::int as events,
    (select count(*) from offerstream_campaigns)::int as campaigns,
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
