import { randomBytes } from 'node:crypto'
import { Consumer, FetchIsolationLevels, type Message } from '@platformatic/kafka'
import pg from 'pg'

// The one reader of the two sinks for tests, chaos and bench: push_message (or any output topic) as a
// read_committed consumer sees it, and subscribers_feedback in PostgreSQL. Expected pairs are
// `${campaignId}/${clientId}` strings computed from the input alone (testkit/workload.ts).

export type RawRecord = Message<Buffer, Buffer, Buffer, Buffer>

export interface ReadRecord {
  key: string | null
  value: Buffer | null
  headers: Map<string, string>
  offset: bigint
  partition: number
}

/**
 * A read_committed consumer of `topic` from its earliest offset, in a consumer group of its own, so
 * a record counts only once a real downstream consumer could see it. `maxWaitTime` is the fetch's
 * long-poll. A fetch returns as soon as a commit makes records visible, whatever the wait, so the
 * wait is not the bench's clock: 500 ms and 10 ms measured the same latency at 1 campaign/s, and
 * 10 ms made the observer itself half the broker's CPU (100 empty fetches/s; docs/scaling.md).
 */
export async function consumeCommitted(
  brokers: string[],
  topic: string,
  onRecord: (m: RawRecord) => void,
  o: { clientId?: string; maxWaitTime?: number } = {},
): Promise<{ close(): Promise<void> }> {
  const clientId = o.clientId ?? 'sink-reader'
  const consumer = new Consumer({ clientId, groupId: `${clientId}_${randomBytes(4).toString('hex')}`, bootstrapBrokers: brokers })
  try {
    const stream = await consumer.consume({
      topics: [topic],
      mode: 'earliest',
      autocommit: false,
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      maxWaitTime: o.maxWaitTime ?? 100,
    })
    stream.on('data', onRecord)
    return {
      async close() {
        await stream.close().catch(() => {})
        await consumer.close(true).catch(() => {})
      },
    }
  } catch (error) {
    await consumer.close(true).catch(() => {})
    throw error
  }
}

/**
 * Reads the topic until `atLeast` records arrived, then for as long as more keep coming, until
 * `settleMs` pass without one. The quiet period is only there to catch duplicates: callers assert
 * on the records, never on how long this took. `timeoutMs` bounds a failing read.
 */
export async function readTopic(
  brokers: string[],
  topic: string,
  { atLeast, timeoutMs = 60000, settleMs = 500 }: { atLeast: number; timeoutMs?: number; settleMs?: number },
): Promise<ReadRecord[]> {
  const out: ReadRecord[] = []
  let lastArrival = Date.now()
  const reader = await consumeCommitted(brokers, topic, m => {
    lastArrival = Date.now()
    out.push({
      key: m.key ? m.key.toString() : null,
      value: m.value ?? null,
      offset: m.offset,
      partition: m.partition,
      headers: new Map([...m.headers].map(([k, v]) => [k.toString(), v.toString()])),
    })
  })
  try {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline && !(out.length >= atLeast && Date.now() - lastArrival >= settleMs)) {
      await new Promise(r => setTimeout(r, 50))
    }
    return out
  } finally {
    await reader.close()
  }
}

export interface CampaignSeen {
  count: number
  first: number
  last: number
}

/** What a live reader saw, with the time it saw it: per campaign, when its first and last push arrived and how many did. */
export class Seen {
  total = 0
  lastAt = 0
  byCampaign = new Map<string, CampaignSeen>()
  /** Per-push visibility times are kept only when asked (latency scenario), as campaign id + time. */
  pushTimes: Array<[string, number]> | undefined

  constructor(keepPushTimes = false) {
    if (keepPushTimes) this.pushTimes = []
  }

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

/**
 * Pushes as they become visible (read_committed), tallied by campaign. The campaign id is sliced out
 * of the bytes rather than parsed, so the reader takes as little CPU from the service under test as it can.
 */
export async function watchPushes(
  brokers: string[],
  topic: string,
  keepPushTimes: boolean,
): Promise<{ seen: Seen; close(): Promise<void> }> {
  const seen = new Seen(keepPushTimes)
  const reader = await consumeCommitted(
    brokers,
    topic,
    m => {
      const v = m.value
      if (!v) return
      const at = v.indexOf(CAMPAIGN_KEY)
      const start = at + CAMPAIGN_KEY.length
      seen.add(at < 0 ? '?' : v.toString('latin1', start, start + 36), 1, Date.now())
    },
    { clientId: 'bench-watch', maxWaitTime: 500 },
  )
  return { seen, close: reader.close }
}

// A "row committed" clock: PostgreSQL delivers a NOTIFY only when the transaction that sent it
// commits, so a notification per fan-out chunk (one offerstream_fanouts row) marks the moment that
// chunk's subscribers_feedback rows became visible. One row per chunk, not per push, so the trigger
// costs the service next to nothing. Installed in a bench's or test's own database only.
export const FANOUT_NOTIFY_TRIGGER = `
create function bench_notify_fanout() returns trigger language plpgsql as $$
begin
  -- The range's first id makes the payload unique: NOTIFY drops a payload repeated within one transaction.
  perform pg_notify('bench_fanout', new.adv_campaign_id::text || ',' || new.row_count || ',' || new.first_id);
  return null;
end $$;
create trigger bench_notify_fanout after insert on offerstream_fanouts for each row execute function bench_notify_fanout();`

/** LISTENs to FANOUT_NOTIFY_TRIGGER's channel: subscribers_feedback rows by campaign, timed at their commit. */
export async function watchFeedbackCommits(databaseUrl: string, keepPushTimes: boolean): Promise<{ seen: Seen; close(): Promise<void> }> {
  const seen = new Seen(keepPushTimes)
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  client.on('notification', n => {
    const [campaignId, rows] = (n.payload ?? '').split(',')
    seen.add(campaignId!, Number(rows), Date.now())
  })
  await client.query('listen bench_fanout')
  return { seen, close: () => client.end().catch(() => {}) }
}

interface HasPool {
  pool: pg.Pool
}

/** subscribers_feedback rows now; undefined while the database cannot answer (during a restart the caller samples again). */
export async function feedbackCount({ pool }: HasPool): Promise<number | undefined> {
  return pool
    .query('select count(*)::int as n from subscribers_feedback')
    .then(r => r.rows[0].n as number)
    .catch(() => undefined)
}

/**
 * Pairs decided so far: pushed (subscribers_feedback rows) or dropped by a frequency cap
 * (offerstream_suppressed). With a cap on, the pairs a workload owes end up in one or the other, so
 * progress waits count both; with the caps off the second table stays empty.
 */
async function decidedCount({ pool }: HasPool): Promise<number | undefined> {
  return pool
    .query('select ((select count(*) from subscribers_feedback) + (select count(*) from offerstream_suppressed))::int as n')
    .then(r => r.rows[0].n as number)
    .catch(() => undefined)
}

/** Waits until at least `want` pairs are decided (pushed, or suppressed by a cap) or the time is up; returns the last count. */
export async function waitForFeedback(db: HasPool, want: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs
  let n = 0
  while (Date.now() < deadline) {
    n = (await decidedCount(db)) ?? n
    if (n >= want) break
    await new Promise(r => setTimeout(r, 250))
  }
  return n
}

export interface Tally {
  missing: number
  duplicated: number
  unexpected: number
  total: number
}

/** How the keys seen (with their counts) compare to the keys expected once each. */
export function tallyAgainst(expected: Set<string>, counts: Map<string, number>): Tally {
  return {
    missing: [...expected].filter(k => !counts.has(k)).length,
    duplicated: [...counts.values()].filter(n => n > 1).length,
    unexpected: [...counts.keys()].filter(k => !expected.has(k)).length,
    total: [...counts.values()].reduce((a, b) => a + b, 0),
  }
}

export interface SinkReport {
  expected: number
  pg: Tally
  kafka: Tally
}

/** Checks both sinks hold each expected (campaign, client) pair exactly once and nothing else. */
export async function verifySinks(pool: pg.Pool, pushes: ReadRecord[], expected: Set<string>): Promise<SinkReport> {
  const { rows } = await pool.query<{ k: string; n: number }>(
    `select adv_campaign_id || '/' || client_id as k, count(*)::int as n from subscribers_feedback group by 1`,
  )
  const kafkaCounts = new Map<string, number>()
  for (const p of pushes) {
    const v = JSON.parse(p.value!.toString())
    const k = `${v.adv_campaign_id}/${v.client_id}`
    kafkaCounts.set(k, (kafkaCounts.get(k) ?? 0) + 1)
  }
  return {
    expected: expected.size,
    pg: tallyAgainst(expected, new Map(rows.map(r => [r.k, r.n]))),
    kafka: tallyAgainst(expected, kafkaCounts),
  }
}

/** Waits for the rows, reads the output topic until the expected pushes arrived plus a quiet period, then compares. */
export async function checkSinks(
  fx: HasPool & { config: { kafkaBrokers: string[]; outputTopic: string } },
  expected: Set<string>,
  timeoutMs: number,
): Promise<SinkReport> {
  await waitForFeedback(fx, expected.size, timeoutMs)
  const pushes = await readTopic(fx.config.kafkaBrokers, fx.config.outputTopic, { atLeast: expected.size, timeoutMs, settleMs: 3000 })
  return verifySinks(fx.pool, pushes, expected)
}

export function sinksExact(r: SinkReport): boolean {
  const ok = (s: Tally) => s.missing === 0 && s.duplicated === 0 && s.unexpected === 0 && s.total === r.expected
  return ok(r.pg) && ok(r.kafka)
}
