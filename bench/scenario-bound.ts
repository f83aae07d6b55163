import { createWriteStream } from 'node:fs'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { from as copyFrom } from 'pg-copy-streams'
import type { Campaign } from '../src/core/campaign.ts'
import { pushMessageAround } from '../src/core/push-message.ts'
import { type OutMessage, OutputProducer } from '../src/kafka/output-producer.ts'
import type { CampaignFields } from '../testkit/campaigns.ts'
import { type BenchEnv, createBenchEnv, type Services } from './bench-env.ts'
import { cpuSeconds, cpuSnapshot } from './cpu-usage.ts'
import { javaProducer } from './java-producer.ts'
import { createProgress } from './progress.ts'
import type { ThroughputRun } from './scenario-throughput.ts'

interface Job {
  campaign: Campaign
  clients: string[]
}

/** Rows written so far on each side of the current pass, for the progress line. */
interface Counters {
  kafka: number
  pg: number
  tick(): void
}

/**
 * The sink bound: the throughput scenario's pushes written straight to both sinks, concurrently, with
 * no service in between, twice. The bound proper uses Kafka's own Java producer (the machine's limit,
 * our client's cost excluded); the second pass uses the service's OutputProducer, so the gap between
 * the two is our Kafka client's share. PostgreSQL: COPY FROM STDIN of the same rows into
 * subscribers_feedback, one COPY (= one transaction) per OFFERSTREAM_FANOUT_CHUNK rows, like the
 * fan-out's chunks. Bound = pushes / slower side's time.
 */
export async function runBound(services: Services, run: ThroughputRun, serviceEnv: Record<string, string>) {
  const p = createProgress('sink bound')
  const env = await createBenchEnv(services, 'bound', serviceEnv)
  const trigger = Math.floor(Date.now() / 1000)
  const jobs: Job[] = run.events
    .filter(e => e.kind === 'valid')
    .map(e => ({ campaign: toCampaign(JSON.parse(e.value) as CampaignFields), clients: run.subs.clientsOf[e.restaurant!]! }))
  const total = jobs.reduce((s, j) => s + j.clients.length, 0)
  let what = ''
  const n: Counters = { kafka: 0, pg: 0, tick: () => p.set(`${what}: kafka ${n.kafka}/${total}, postgres ${n.pg}/${total}`) }
  const pass = (label: string, kafkaSide: () => Promise<number>) => {
    what = label
    return concurrently(env, jobs, trigger, n, kafkaSide)
  }
  const payload = path.join(os.tmpdir(), `offerstream-bound-${process.pid}.tsv`)
  const producer = new OutputProducer(env.config, env.config.transactionalId)
  try {
    await producer.open()
    p.set("writing the Java producer's payload file (untimed)")
    await writePayload(payload, jobs, trigger)
    const java = await pass('java producer ‖ COPY', () => javaPass(env, payload, n))
    const ours = await pass('OutputProducer ‖ COPY', () => ownClientPass(env, producer, jobs, trigger, n))
    p.done(
      `done: ${total} pushes; java ${java.kafkaSeconds.toFixed(1)} s ‖ COPY ${java.pgSeconds.toFixed(1)} s; ` +
        `OutputProducer ${ours.kafkaSeconds.toFixed(1)} s ‖ COPY ${ours.pgSeconds.toFixed(1)} s`,
    )
    return boundResult(total, env, java, ours)
  } finally {
    p.done()
    await fs.rm(payload, { force: true })
    await producer.close()
    await env.cleanup()
  }
}

type Pass = Awaited<ReturnType<typeof concurrently>>

function boundResult(total: number, env: BenchEnv, java: Pass, ours: Pass) {
  return {
    scenario: 'bound',
    pushes: total,
    relayBatch: env.config.relayBatch,
    copyChunk: env.config.fanoutChunk,
    kafkaSeconds: java.kafkaSeconds,
    pgSeconds: java.pgSeconds,
    kafkaPerSecond: total / java.kafkaSeconds,
    pgPerSecond: total / java.pgSeconds,
    boundPerSecond: total / Math.max(java.kafkaSeconds, java.pgSeconds),
    cpuSeconds: java.cpu,
    ownClient: {
      kafkaSeconds: ours.kafkaSeconds,
      pgSeconds: ours.pgSeconds,
      kafkaPerSecond: total / ours.kafkaSeconds,
      pgPerSecond: total / ours.pgSeconds,
      boundPerSecond: total / Math.max(ours.kafkaSeconds, ours.pgSeconds),
      cpuSeconds: ours.cpu,
    },
  }
}

/**
 * Pass 1, the machine's bound: Kafka's Java producer sends the same keys and values to the same
 * partitions (both use murmur2 of the key), acks=all, one transaction per relayBatch records.
 */
async function javaPass(env: BenchEnv, payload: string, n: Counters): Promise<number> {
  const r = await javaProducer<{ records: number; seconds: number }>([
    'bound',
    env.config.kafkaBrokers.join(','),
    env.config.outputTopic,
    `${env.config.transactionalId}-java`,
    payload,
    String(env.config.relayBatch),
  ])
  n.kafka = r.records
  return r.seconds
}

/**
 * Pass 2, our client's bound: the service's own OutputProducer (same transactional settings, one
 * transaction per relayBatch messages plus the cursor record, sequential like the relay).
 */
async function ownClientPass(env: BenchEnv, producer: OutputProducer, jobs: Job[], trigger: number, n: Counters): Promise<number> {
  const t0 = Date.now()
  let batch: OutMessage[] = []
  const flush = async () => {
    n.kafka += batch.length
    await producer.publish(batch, { push: n.kafka, dlq: 0 })
    batch = []
  }
  for (const j of jobs) {
    const { head, tail } = pushMessageAround(j.campaign, trigger)
    for (const c of j.clients) {
      batch.push({ topic: env.config.outputTopic, key: c, value: `${head}${c}${tail}` })
      if (batch.length >= env.config.relayBatch) {
        await flush()
        n.tick()
      }
    }
  }
  if (batch.length) await flush()
  return (Date.now() - t0) / 1000
}

/** Runs a Kafka side next to COPY of the same rows into subscribers_feedback; seconds of each. */
async function concurrently(env: BenchEnv, jobs: Job[], trigger: number, n: Counters, kafkaSide: () => Promise<number>) {
  n.kafka = 0
  n.pg = 0
  n.tick()
  const cpu0 = cpuSnapshot()
  const t0 = Date.now()
  const pgSide = async () => {
    const client = await env.pool.connect()
    try {
      for (const rows of chunkRows(jobs, env.config.fanoutChunk, trigger, n)) {
        await pipeline(Readable.from(rows()), client.query(copyFrom(COPY)))
        n.tick()
      }
    } finally {
      client.release()
    }
    return (Date.now() - t0) / 1000
  }
  const [kafkaSeconds, pgSeconds] = await Promise.all([kafkaSide(), pgSide()])
  const cpu = cpuSeconds(cpu0, cpuSnapshot(), Math.max(kafkaSeconds, pgSeconds), os.cpus().length)
  return { kafkaSeconds, pgSeconds, cpu }
}

// Chunks of `chunk` rows regardless of campaign boundaries: fewer, bigger transactions than the
// service can have for small campaigns, so this bound is an upper limit, not a like-for-like.
function* chunkRows(all: Job[], chunk: number, trig: number, n: Counters) {
  const segments: Segment[] = []
  let size = 0
  for (const j of all) {
    for (let i = 0; i < j.clients.length; ) {
      const k = Math.min(j.clients.length - i, chunk - size)
      segments.push({ j, from: i, to: i + k })
      i += k
      size += k
      if (size === chunk) {
        yield copyStream(segments.splice(0), trig, n)
        size = 0
      }
    }
  }
  if (segments.length) yield copyStream(segments, trig, n)
}

function copyStream(segments: Segment[], trig: number, n: Counters) {
  return async function* () {
    for (const { j, from, to } of segments) {
      const c = j.campaign
      const head = `${[c.restaurantId, c.campaignId, esc(c.content), esc(c.owner), esc(c.ownerContact), c.start, c.end, c.created].join('\t')}\t`
      const tail = `\t${trig}\t\\N\n`
      for (let k = from; k < to; k += 2000) {
        let s = ''
        const e = Math.min(to, k + 2000)
        for (let m = k; m < e; m++) s += head + j.clients[m] + tail
        n.pg += e - k
        yield s
      }
    }
  }
}

type Segment = { j: Job; from: number; to: number }

/** One "client<TAB>push JSON" line per push, in the relay's order (JSON escapes tabs and newlines). */
async function writePayload(file: string, jobs: Job[], trigger: number): Promise<void> {
  async function* lines() {
    for (const j of jobs) {
      const { head, tail } = pushMessageAround(j.campaign, trigger)
      let s = ''
      for (const c of j.clients) {
        s += `${c}\t${head}${c}${tail}\n`
        if (s.length > 1 << 20) {
          yield s
          s = ''
        }
      }
      if (s) yield s
    }
  }
  await pipeline(Readable.from(lines()), createWriteStream(file))
}

const COPY = `copy subscribers_feedback (restaurant_id, adv_campaign_id, adv_campaign_content, adv_campaign_owner,
  adv_campaign_owner_contact, adv_campaign_datetime_start, adv_campaign_datetime_end, datetime_created,
  client_id, trigger_datetime_created, feedback) from stdin`

// COPY text format: backslash, tab and newlines escaped; null as \N.
const esc = (s: string | null) =>
  s === null ? '\\N' : s.replace(/[\\\t\n\r]/g, ch => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[ch]!)

function toCampaign(f: CampaignFields): Campaign {
  return {
    restaurantId: f.restaurant_id,
    campaignId: f.adv_campaign_id,
    content: f.adv_campaign_content,
    owner: f.adv_campaign_owner,
    ownerContact: f.adv_campaign_owner_contact,
    start: f.adv_campaign_datetime_start,
    end: f.adv_campaign_datetime_end,
    created: f.datetime_created,
  }
}
