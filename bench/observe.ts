import { randomBytes } from 'node:crypto'
import { Consumer, FetchIsolationLevels, type MessagesStream } from '@platformatic/kafka'
import pg from 'pg'
import { decodeCursor } from '../src/kafka/relay-cursor.ts'

// What the bench sees of the two sinks, with the time it saw it: per campaign, when its first and
// last push became visible and how many did.

export interface CampaignSeen {
  count: number
  first: number
  last: number
}

export class Seen {
  total = 0
  lastAt = 0
  byCampaign = new Map<string, CampaignSeen>()
  /** Per-push visibility times are kept only when asked (latency scenario), as campaign id + time. */
  pushTimes: Array<[string, number]> | undefined

  add(campaignId: string, n: number, at: number): void {
    this.total += n
    this.lastAt = at
    const c = this.byCampaign.get(campaignId)
    if (c) {
      c.count += n
      c.last = at
    } else this.byCampaign.set(campaignId, { count: n, first: at, last: at })
    if (this.pushTimes) for (let i = 0; i < n; i++) this.pushTimes.push([campaignId, at])
  }

  async waitFor(total: number, timeoutMs: number, tick?: () => void): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    while (this.total < total && Date.now() < deadline) {
      tick?.()
      await new Promise(r => setTimeout(r, 20))
    }
    return this.total >= total
  }
}

const CAMPAIGN_KEY = Buffer.from('"adv_campaign_id":"')

/** A read_committed consumer of the push topic: a message counts when a real consumer could see it. */
export async function watchKafka(
  brokers: string[],
  topic: string,
  keepPushTimes: boolean,
): Promise<{ seen: Seen; close(): Promise<void> }> {
  const seen = new Seen()
  if (keepPushTimes) seen.pushTimes = []
  const consumer = new Consumer({
    clientId: 'bench-watch',
    groupId: `bench_watch_${randomBytes(4).toString('hex')}`,
    bootstrapBrokers: brokers,
  })
  const stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> = await consumer.consume({
    topics: [topic],
    mode: 'earliest',
    autocommit: false,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    maxWaitTime: 10,
  })
  stream.on('data', m => {
    const v = m.value
    if (!v) return
    const at = v.indexOf(CAMPAIGN_KEY)
    const start = at + CAMPAIGN_KEY.length
    seen.add(at < 0 ? '?' : v.toString('latin1', start, start + 36), 1, Date.now())
  })
  return {
    seen,
    async close() {
      await stream.close().catch(() => {})
      await consumer.close(true).catch(() => {})
    },
  }
}

/** LISTENs to the bench trigger on offerstream_fanouts: one notification per committed chunk. */
export async function watchPostgres(databaseUrl: string, keepPushTimes: boolean): Promise<{ seen: Seen; close(): Promise<void> }> {
  const seen = new Seen()
  if (keepPushTimes) seen.pushTimes = []
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  client.on('notification', n => {
    const [campaignId, rows] = (n.payload ?? '').split(',')
    seen.add(campaignId!, Number(rows), Date.now())
  })
  await client.query('listen bench_fanout')
  return { seen, close: () => client.end().catch(() => {}) }
}

/**
 * The relays' committed cursors as a read_committed consumer of the state topic sees them, per record
 * key (the relay's transactional id: one relay, or one per shard). A cursor commits in the same
 * transaction as the pushes it covers, so the moment it passes an id is the moment every push of
 * that relay up to that id became visible — without the bench decoding every push, whose CPU would
 * otherwise be taken from the service under test (throughput and big fan-out scenarios).
 */
export async function watchCursor(
  brokers: string[],
  stateTopic: string,
): Promise<{
  reached(targets: Map<string, number>, timeoutMs: number, tick?: () => void): Promise<number | undefined>
  close(): Promise<void>
}> {
  const seen: Array<{ key: string; push: number; at: number }> = []
  const consumer = new Consumer({
    clientId: 'bench-cursor',
    groupId: `bench_cursor_${randomBytes(4).toString('hex')}`,
    bootstrapBrokers: brokers,
  })
  const stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> = await consumer.consume({
    topics: [stateTopic],
    mode: 'earliest',
    autocommit: false,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    maxWaitTime: 10,
  })
  stream.on('data', m => {
    const c = decodeCursor(m.value ?? null)
    if (c) seen.push({ key: m.key?.toString() ?? '', push: c.push, at: Date.now() })
  })
  return {
    /** When every keyed cursor had reached its target id (ms epoch, the latest of them), or undefined on timeout. */
    async reached(targets, timeoutMs, tick) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const at = [...targets].map(([key, id]) => seen.find(c => c.key === key && c.push >= id)?.at)
        if (at.every(t => t !== undefined)) return Math.max(0, ...at)
        if (Date.now() > deadline) return undefined
        tick?.()
        await new Promise(r => setTimeout(r, 20))
      }
    },
    async close() {
      await stream.close().catch(() => {})
      await consumer.close(true).catch(() => {})
    },
  }
}
