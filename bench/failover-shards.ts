import os from 'node:os'
import { Producer } from '@platformatic/kafka'
import { shardOf } from '../src/core/shard.ts'
import { quantile } from '../testkit/quantiles.ts'
import { createRng } from '../testkit/rng.ts'
import { watchPushes } from '../testkit/sinks.ts'
import { createBenchEnv, type Services } from './bench-env.ts'
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
  const shards = env.config.shards
  const group = new ServiceGroup(env.config, { instances: o.instances, cpuPerInstance: undefined, nodeArgs: [] })
  const input = new Producer({ clientId: 'bench-failover-input', bootstrapBrokers: env.config.kafkaBrokers })
  const kafka = await watchPushes(env.config.kafkaBrokers, env.config.outputTopic, false)
  const rng = createRng(o.seed)
  const restaurant = rng.uuid()
  await env.pool.query('insert into subscribers_restaurants (client_id, restaurant_id) values ($1, $2)', [rng.uuid(), restaurant])

  // Every tick sends one campaign per shard, the partitions rotating, so each input partition gets
  // shards/partitions of them. A kill stalls the shards its instance owned and also the input
  // partitions it consumed; a "cell" is a shard or an input partition, and recovery is when every
  // cell has a new campaign landed. Ids are drawn until each shard has one waiting.
  const partitions = env.config.topicPartitions
  const cells = shards + partitions
  const next = new Map<number, string>()
  const refill = () => {
    while (next.size < shards) {
      const id = rng.uuid()
      next.set(shardOf(id, shards), id)
    }
  }
  const produced = new Map<string, { cells: [number, number]; at: number }>()
  const inPg = new Map<string, number>()
  let producing = true
  let polling = true

  const produce = async () => {
    const t0 = Date.now()
    for (let tick = 0; producing; tick++) {
      refill()
      const now = Date.now()
      const s = Math.floor(now / 1000)
      const messages = [...next].map(([shard, id]) => {
        const partition = (shard + tick) % partitions
        produced.set(id, { cells: [shard, shards + partition], at: now })
        const value = JSON.stringify({
          restaurant_id: restaurant,
          adv_campaign_id: id,
          adv_campaign_content: 'failover probe',
          adv_campaign_owner: 'bench',
          adv_campaign_owner_contact: 'bench@example.com',
          adv_campaign_datetime_start: s - 60,
          adv_campaign_datetime_end: s + 7200,
          datetime_created: s - 30,
        })
        return { topic: env.config.inputTopic, partition, key: Buffer.from(id), value: Buffer.from(value) }
      })
      next.clear()
      await input.send({ messages })
      const wait = t0 + (tick + 1) * o.intervalMs - Date.now()
      if (wait > 0) await new Promise(r => setTimeout(r, wait))
    }
  }
  // Rows are looked up by campaign (indexed), not by id order: with several writers, ids need not commit in order.
  const pollPg = async () => {
    while (polling) {
      const pending = [...produced.keys()].filter(c => !inPg.has(c))
      if (pending.length) {
        const { rows } = await env.pool.query<{ c: string }>(
          'select distinct adv_campaign_id::text as c from subscribers_feedback where adv_campaign_id = any($1::uuid[])',
          [pending],
        )
        const at = Date.now()
        for (const r of rows) inPg.set(r.c, at)
      }
      await new Promise(r => setTimeout(r, 20))
    }
  }

  /** ms from `t0` until every cell has a campaign produced at or after t0 seen in the sink; undefined on timeout. */
  const allShardsAfter = async (t0: number, seen: (c: string) => number | undefined, timeoutMs = 90000) => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const first = new Map<number, number>()
      for (const [c, p] of produced) {
        if (p.at < t0) continue
        const at = seen(c)
        if (at === undefined) continue
        for (const cell of p.cells) if (at < (first.get(cell) ?? Number.POSITIVE_INFINITY)) first.set(cell, at)
      }
      if (first.size === cells) return Math.max(...first.values()) - t0
      if (Date.now() > deadline) return undefined
      group.assertRunning()
      await new Promise(r => setTimeout(r, 20))
    }
  }
  const inKafka = (c: string) => kafka.seen.byCampaign.get(c)?.first
  const both = async (t0: number) => ({ pg: await allShardsAfter(t0, c => inPg.get(c)), kafka: await allShardsAfter(t0, inKafka) })

  const baseline: Array<{ pg?: number; kafka?: number }> = []
  const kills: Array<{ victim: number; pg?: number; kafka?: number; runningMs?: number; load: string }> = []
  let loops: Promise<unknown> = Promise.resolve()
  let pgDuplicates = Number.NaN
  try {
    group.start()
    await group.ready()
    loops = Promise.all([produce(), pollPg()])
    const log = (s: string) => process.stdout.write(`${s}\n`)
    for (let i = 0; i < 3; i++) {
      const r = await both(Date.now())
      baseline.push(r)
      log(`no kill ${i + 1}/3: all cells again in PG after ${r.pg} ms, in Kafka after ${r.kafka} ms`)
    }
    for (let k = 0; k < o.kills; k++) {
      await group.ready()
      const victim = rng.int(o.instances)
      const svc = group.services[victim]!
      const load = load1()
      const t0 = Date.now()
      await svc.kill()
      if (o.restart) svc.start()
      else group.services.splice(victim, 1)
      const r = await both(t0)
      if (!o.restart) {
        group.services.splice(victim, 0, svc)
        svc.start()
      }
      await svc.ready(60000, false)
      const runningMs = o.restart ? svc.runningAt! - t0 : undefined
      kills.push({ victim: victim + 1, ...r, runningMs, load })
      log(
        `kill ${k + 1}/${o.kills}: instance ${victim + 1}${o.restart ? ` restarted (running after ${runningMs ?? '?'} ms)` : ' left down'}; ` +
          `all cells again in PG after ${r.pg ?? 'TIMEOUT'} ms, in Kafka after ${r.kafka ?? 'TIMEOUT'} ms; load avg ${load}`,
      )
    }
    // Exactness of what was measured: every probe campaign once in each sink (a SIGKILL must not lose or repeat one).
    producing = false
    await group.ready()
    const all = () => [...produced.keys()].every(c => inPg.has(c) && inKafka(c) !== undefined)
    for (const end = Date.now() + 60000; !all() && Date.now() < end; ) await new Promise(r => setTimeout(r, 100))
    await new Promise(r => setTimeout(r, 1000)) // anything beyond one per campaign would be a duplicate
    const { rows } = await env.pool.query<{ dup: string }>(
      'select (count(*) - count(distinct adv_campaign_id))::text as dup from subscribers_feedback',
    )
    pgDuplicates = Number(rows[0]!.dup)
  } finally {
    producing = false
    polling = false
    await loops.catch(() => {})
    await group.stop()
    await kafka.close()
    await input.close(true).catch(() => {})
    await env.cleanup()
  }
  const counts = [...produced.keys()].map(c => kafka.seen.byCampaign.get(c)?.count ?? 0)
  return {
    options: o,
    shards,
    partitions,
    baseline,
    kills,
    campaigns: produced.size,
    pgMissing: [...produced.keys()].filter(c => !inPg.has(c)).length,
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
