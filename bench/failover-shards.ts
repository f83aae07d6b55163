import os from 'node:os'
import { Producer } from '@platformatic/kafka'
import { shardOf } from '../src/core/shard.ts'
import { campaignJson } from '../testkit/campaigns.ts'
import { quantile } from '../testkit/quantiles.ts'
import { createRng, type Rng } from '../testkit/rng.ts'
import { type Seen, watchPushes } from '../testkit/sinks.ts'
import { type BenchEnv, createBenchEnv, type Services } from './bench-env.ts'
import { ServiceGroup } from './service-group.ts'

export interface ShardFailoverOptions {
  instances: number
  kills: number
  /** false: the killed instance stays down until the others have taken over its shards (session timeout). */
  restart: boolean
  /** Every shard gets a new campaign this often. */
  intervalMs: number
  seed: number
}

const load1 = () => os.loadavg()[0]!.toFixed(2)

type Landed = { pg?: number; kafka?: number }

/**
 * The probe load: every tick one campaign per shard, the partitions rotating, so each input
 * partition gets shards/partitions of them. A kill stalls the shards its instance owned and also the
 * input partitions it consumed; a "cell" is a shard or an input partition, and recovery is when every
 * cell has a new campaign landed. Ids are drawn until each shard has one waiting.
 */
class ProbeTraffic {
  readonly produced = new Map<string, { cells: [number, number]; at: number }>()
  readonly inPg = new Map<string, number>()
  #producing = true
  #polling = true
  readonly #next = new Map<number, string>()
  readonly #shards: number
  readonly #partitions: number

  readonly env: BenchEnv
  readonly rng: Rng
  readonly #input: Producer
  readonly #kafka: Seen
  readonly #restaurant: string

  constructor(env: BenchEnv, input: Producer, kafka: Seen, rng: Rng, restaurant: string) {
    this.env = env
    this.rng = rng
    this.#input = input
    this.#kafka = kafka
    this.#restaurant = restaurant
    this.#shards = env.config.shards
    this.#partitions = env.config.topicPartitions
  }

  get cells(): number {
    return this.#shards + this.#partitions
  }

  /** Both loops until stop(): produce the ticks, and note when each campaign's row is in PostgreSQL. */
  run(intervalMs: number): Promise<unknown> {
    return Promise.all([this.#produce(intervalMs), this.#pollPg()])
  }

  stopProducing(): void {
    this.#producing = false
  }

  stop(): void {
    this.#producing = false
    this.#polling = false
  }

  inKafka(c: string): number | undefined {
    return this.#kafka.byCampaign.get(c)?.first
  }

  #tick(tick: number) {
    while (this.#next.size < this.#shards) {
      const id = this.rng.uuid()
      this.#next.set(shardOf(id, this.#shards), id)
    }
    const now = Date.now()
    const s = Math.floor(now / 1000)
    const messages = [...this.#next].map(([shard, id]) => {
      const partition = (shard + tick) % this.#partitions
      this.produced.set(id, { cells: [shard, this.#shards + partition], at: now })
      const value = campaignJson(this.#restaurant, id, 'failover probe', s - 60, s + 7200, s - 30)
      return { topic: this.env.config.inputTopic, partition, key: Buffer.from(id), value: Buffer.from(value) }
    })
    this.#next.clear()
    return messages
  }

  async #produce(intervalMs: number): Promise<void> {
    const t0 = Date.now()
    for (let tick = 0; this.#producing; tick++) {
      await this.#input.send({ messages: this.#tick(tick) })
      const wait = t0 + (tick + 1) * intervalMs - Date.now()
      if (wait > 0) await new Promise(r => setTimeout(r, wait))
    }
  }

  // Rows are looked up by campaign (indexed), not by id order: with several writers, ids need not commit in order.
  async #pollPg(): Promise<void> {
    while (this.#polling) {
      const pending = [...this.produced.keys()].filter(c => !this.inPg.has(c))
      if (pending.length) {
        const { rows } = await this.env.pool.query<{ c: string }>(
          'select distinct adv_campaign_id::text as c from subscribers_feedback where adv_campaign_id = any($1::uuid[])',
          [pending],
        )
        const at = Date.now()
        for (const r of rows) this.inPg.set(r.c, at)
      }
      await new Promise(r => setTimeout(r, 20))
    }
  }

  /** ms from `t0` until every cell has a campaign produced at or after t0 seen in the sink; undefined on timeout. */
  async allCellsAfter(t0: number, seen: (c: string) => number | undefined, group: ServiceGroup, timeoutMs = 90000) {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const first = new Map<number, number>()
      for (const [c, p] of this.produced) {
        if (p.at < t0) continue
        const at = seen(c)
        if (at === undefined) continue
        for (const cell of p.cells) if (at < (first.get(cell) ?? Number.POSITIVE_INFINITY)) first.set(cell, at)
      }
      if (first.size === this.cells) return Math.max(...first.values()) - t0
      if (Date.now() > deadline) return undefined
      group.assertRunning()
      await new Promise(r => setTimeout(r, 20))
    }
  }

  async landedAfter(t0: number, group: ServiceGroup): Promise<Landed> {
    return {
      pg: await this.allCellsAfter(t0, c => this.inPg.get(c), group),
      kafka: await this.allCellsAfter(t0, c => this.inKafka(c), group),
    }
  }
}

const log = (s: string) => process.stdout.write(`${s}\n`)

/** SIGKILL of a random instance, restarted at once or once the others took over; time until every cell landed again. */
async function killOne(group: ServiceGroup, traffic: ProbeTraffic, o: ShardFailoverOptions, k: number) {
  await group.ready()
  const victim = traffic.rng.int(o.instances)
  const svc = group.services[victim]!
  const load = load1()
  const t0 = Date.now()
  await svc.kill()
  if (o.restart) svc.start()
  else group.services.splice(victim, 1)
  const r = await traffic.landedAfter(t0, group)
  if (!o.restart) {
    group.services.splice(victim, 0, svc)
    svc.start()
  }
  await svc.ready(60000, false)
  const runningMs = o.restart ? svc.runningAt! - t0 : undefined
  log(
    `kill ${k + 1}/${o.kills}: instance ${victim + 1}${o.restart ? ` restarted (running after ${runningMs ?? '?'} ms)` : ' left down'}; ` +
      `all cells again in PG after ${r.pg ?? 'TIMEOUT'} ms, in Kafka after ${r.kafka ?? 'TIMEOUT'} ms; load avg ${load}`,
  )
  return { victim: victim + 1, ...r, runningMs, load }
}

/** Exactness of what was measured: every probe campaign once in each sink (a SIGKILL must not lose or repeat one); PG duplicates. */
async function settleAndCountDuplicates(traffic: ProbeTraffic, group: ServiceGroup): Promise<number> {
  traffic.stopProducing()
  await group.ready()
  const all = () => [...traffic.produced.keys()].every(c => traffic.inPg.has(c) && traffic.inKafka(c) !== undefined)
  for (const end = Date.now() + 60000; !all() && Date.now() < end; ) await new Promise(r => setTimeout(r, 100))
  await new Promise(r => setTimeout(r, 1000)) // anything beyond one per campaign would be a duplicate
  const { rows } = await traffic.env.pool.query<{ dup: string }>(
    'select (count(*) - count(distinct adv_campaign_id))::text as dup from subscribers_feedback',
  )
  return Number(rows[0]!.dup)
}

/**
 * N instances, a campaign for every shard every `intervalMs` (spread over the input partitions),
 * SIGKILL of a random instance (restarted at once with the same static member id, or not), and per
 * kill the time from the SIGKILL until every shard and every input partition has again a campaign
 * produced after the kill landed — its row in PostgreSQL, its push in Kafka (read_committed). The
 * same wait without a kill is measured first: it is the floor (one interval plus the pipeline's
 * latency) that every figure includes.
 */
export async function runShardFailover(services: Services, o: ShardFailoverOptions) {
  const env = await createBenchEnv(services, 'failover')
  const group = new ServiceGroup(env.config, { instances: o.instances, cpuPerInstance: undefined, nodeArgs: [] })
  const input = new Producer({ clientId: 'bench-failover-input', bootstrapBrokers: env.config.kafkaBrokers })
  const kafka = await watchPushes(env.config.kafkaBrokers, env.config.outputTopic, false)
  const rng = createRng(o.seed)
  const restaurant = rng.uuid()
  await env.pool.query('insert into subscribers_restaurants (client_id, restaurant_id) values ($1, $2)', [rng.uuid(), restaurant])
  const traffic = new ProbeTraffic(env, input, kafka.seen, rng, restaurant)
  const baseline: Landed[] = []
  const kills: Array<Awaited<ReturnType<typeof killOne>>> = []
  let loops: Promise<unknown> = Promise.resolve()
  let pgDuplicates = Number.NaN
  try {
    group.start()
    await group.ready()
    loops = traffic.run(o.intervalMs)
    for (let i = 0; i < 3; i++) {
      const r = await traffic.landedAfter(Date.now(), group)
      baseline.push(r)
      log(`no kill ${i + 1}/3: all cells again in PG after ${r.pg} ms, in Kafka after ${r.kafka} ms`)
    }
    for (let k = 0; k < o.kills; k++) kills.push(await killOne(group, traffic, o, k))
    pgDuplicates = await settleAndCountDuplicates(traffic, group)
  } finally {
    traffic.stop()
    await loops.catch(() => {})
    await group.stop()
    await kafka.close()
    await input.close(true).catch(() => {})
    await env.cleanup()
  }
  const counts = [...traffic.produced.keys()].map(c => kafka.seen.byCampaign.get(c)?.count ?? 0)
  return {
    options: o,
    shards: env.config.shards,
    partitions: env.config.topicPartitions,
    baseline,
    kills,
    campaigns: traffic.produced.size,
    pgMissing: [...traffic.produced.keys()].filter(c => !traffic.inPg.has(c)).length,
    pgDuplicates,
    kafkaMissing: counts.filter(n => n === 0).length,
    kafkaDuplicates: counts.reduce((s, n) => s + Math.max(0, n - 1), 0),
  }
}

export function summarize(r: Awaited<ReturnType<typeof runShardFailover>>): string {
  const line = (xs: Array<number | undefined>) => {
    const ok = xs.filter((x): x is number => x !== undefined)
    const lost = xs.length - ok.length
    return `p50 ${quantile(ok, 0.5)} ms, max ${Math.max(...ok)} ms${lost ? `, ${lost} TIMEOUT` : ''}`
  }
  return [
    `${r.options.instances} instances, a campaign per shard (${r.shards}) every ${r.options.intervalMs} ms over ${r.partitions} input partitions, ` +
      `${r.kills.length} SIGKILLs, killed instance ${r.options.restart ? 'restarted at once (static membership)' : 'left down until the others took over'}:`,
    `  SIGKILL → new campaigns of every shard and input partition in PostgreSQL: ${line(r.kills.map(k => k.pg))}; in Kafka: ${line(r.kills.map(k => k.kafka))}`,
    `  without a kill (floor): PostgreSQL ${line(r.baseline.map(b => b.pg))}; Kafka ${line(r.baseline.map(b => b.kafka))}`,
    `  ${r.campaigns} probe campaigns: PostgreSQL ${r.pgMissing} missing / ${r.pgDuplicates} duplicated, Kafka ${r.kafkaMissing} missing / ${r.kafkaDuplicates} duplicated`,
  ].join('\n')
}
