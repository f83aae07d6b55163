import type pg from 'pg'
import type { Config } from '../config/settings.ts'
import { shardOf as shardOfCampaign } from '../core/shard.ts'
import { ErrorCodes, OfferstreamError } from '../errors.ts'
import { OutputProducer, shardTransactionalId } from '../kafka/output-producer.ts'
import { type CursorEntry, cursorHistory, type PublishedPush, type PublishedReject, publishedSince } from '../kafka/published-evidence.ts'
import { type CursorEvent, type RelayCursor, START_CURSOR } from '../kafka/relay-cursor.ts'
import { translatePgError } from '../pg/pg-errors.ts'
import { missingPushes } from '../pg/sql/missing-pushes.ts'
import { raiseShardFloor } from '../pg/sql/raise-shard-floor.ts'
import { reserveIds } from '../pg/sql/reserve-ids.ts'
import { ensureEvent, findEvent } from '../pg/sql/restore-event.ts'
import { missingRejects, type RestoredReject, restoreRejects } from '../pg/sql/restore-rejects.ts'
import { restoreRows } from '../pg/sql/restore-rows.ts'
import { withTransaction } from '../pg/transaction.ts'
import type { Logger } from './logger.ts'

// Producer clocks differ between hosts: the push_message records of the transactions after the
// last one PostgreSQL still has are read from this long before it. Reading more is harmless: what
// PostgreSQL has is skipped.
const CLOCK_MARGIN_MS = 10_000
const LOOKUP_CHUNK = 50_000
const REPAIR_CONCURRENCY = 3

interface ShardPlan {
  shard: number
  producer: OutputProducer
  cursor: RelayCursor
  position: RelayCursor
  sinceMs: number
  events: Map<string, CursorEvent>
  /** Every transaction from the boundary on named its events: only their pushes can be missing. */
  eventsComplete: boolean
}

const eventKey = (campaignId: string, trigger: number) => `${campaignId}\u0000${trigger}`
const positionKey = (topic: string, partition: number, offset: string) => `${topic}\u0000${partition}\u0000${offset}`

function impossible(message: string): OfferstreamError {
  return new OfferstreamError(
    ErrorCodes.PG_REGRESSION,
    `${message}. The repair cannot know every push in the gap, so it stops rather than push twice or leave a push out of PostgreSQL. ` +
      'To go on without restoring the gap (its clients may get those campaigns again), start once with ' +
      'OFFERSTREAM_PG_REGRESSION=accept (offerstream run --pg-regression accept); see docs/pg-failover.md.',
  )
}

/**
 * Repairs the shards whose tables are behind their relay's cursor (issue 20). Kafka is the truth for
 * what was pushed: each shard's relay id is initialised (fencing any running relay, settling its open
 * transaction), the cursor records after the last transaction PostgreSQL still has say which events
 * were published, and the push_message and DLQ records since then say what. The rows PostgreSQL
 * lacks are restored under fresh ids, with their fan-out ranges, events (under their input position)
 * and fan-out progress; rejects under their input position. The relay's cursor first moves past
 * those ids in a transaction of its own, so a crash before the restore commits only makes the next
 * start repair again, and the restored rows are never published twice. `accept` skips the restore.
 */
export async function repairShards(
  pool: pg.Pool,
  config: Config,
  positions: Map<number, RelayCursor>,
  accept: boolean,
  log: Logger,
): Promise<{ feedback: number; events: number; rejects: number }> {
  const plans: ShardPlan[] = []
  const total = { feedback: 0, events: 0, rejects: 0 }
  try {
    const opening = [...positions].map(async ([shard, position]) => {
      const producer = new OutputProducer(config, shardTransactionalId(config, shard))
      const plan: ShardPlan = { shard, producer, position, cursor: START_CURSOR, sinceMs: 0, events: new Map(), eventsComplete: false }
      plans.push(plan)
      plan.cursor = await producer.open()
    })
    await Promise.all(opening)
    if (accept) {
      for (const p of plans) await pgStep(() => raiseShardFloor(pool, p.shard, p.cursor.push, p.cursor.dlq))
      return total
    }
    const history = await cursorHistory(config, positions)
    for (const p of plans) planFromHistory(p, history.get(p.shard) ?? [])
    const shards = new Set(plans.map(p => p.shard))
    const published = await publishedSince(config, shards, Math.min(...plans.map(p => p.sinceMs)))
    if (published.gaps.length > 0)
      throw impossible(
        `PostgreSQL lost pushes of shards ${[...shards].join(', ')} published since ${new Date(Math.min(...plans.map(p => p.sinceMs))).toISOString()}, ` +
          `but Kafka no longer has all records since then (${published.gaps.join(', ')})`,
      )
    // Shards touch disjoint rows (their own ranges, events and rejects) and their own cursors, so a few
    // go at once; all of them at once waited past the pool's connect timeout for its 10 connections.
    const queue = [...plans]
    const worker = async () => {
      for (let p = queue.shift(); p; p = queue.shift()) {
        const r = await repairShard(pool, config, p, published.pushes, published.rejects, log)
        total.feedback += r.feedback
        total.events += r.events
        total.rejects += r.rejects
      }
    }
    await Promise.all(Array.from({ length: REPAIR_CONCURRENCY }, worker))
    return total
  } finally {
    for (const p of plans) await p.producer.close()
  }
}

/**
 * From the shard's cursor records: when the first transaction PostgreSQL lost was published, and the
 * events of the transactions from there on. When no record is at or below PostgreSQL's position (one
 * transaction took the shard from below it to past it), the first record found is that transaction:
 * compaction, the only thing that removes cursor records, never touches the state topic's newest
 * segment, which holds about ten million of them.
 */
/** @internal exported for its unit test */
export function planFromHistory(
  p: Pick<ShardPlan, 'shard' | 'cursor' | 'position' | 'sinceMs' | 'events' | 'eventsComplete'>,
  entries: CursorEntry[],
): void {
  let boundary = -1
  for (let i = 0; i < entries.length; i++) if (entries[i]!.push <= p.position.push && entries[i]!.dlq <= p.position.dlq) boundary = i
  const first = entries[boundary + 1]
  if (!first)
    throw impossible(
      `shard ${p.shard}: PostgreSQL holds fan-out ranges up to id ${p.position.push} and rejects up to id ${p.position.dlq}, ` +
        `Kafka's cursor is at push=${p.cursor.push} dlq=${p.cursor.dlq}, and the state topic has no cursor record past PostgreSQL's position`,
    )
  p.sinceMs = Math.max(0, (boundary < 0 ? first : entries[boundary]!).timestampMs - CLOCK_MARGIN_MS)
  let previous = boundary < 0 ? p.position.push : entries[boundary]!.push
  p.eventsComplete = true
  for (const e of entries.slice(boundary + 1)) {
    for (const ev of e.events) p.events.set(eventKey(ev.campaignId, ev.trigger), ev)
    if (e.push > previous && e.events.length === 0) p.eventsComplete = false
    previous = e.push
  }
}

async function pgStep<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (error) {
    throw translatePgError(error)
  }
}

async function repairShard(
  pool: pg.Pool,
  config: Config,
  p: ShardPlan,
  allPushes: PublishedPush[],
  allRejects: PublishedReject[],
  log: Logger,
): Promise<{ feedback: number; events: number; rejects: number }> {
  // With every lost transaction's events known, only their pushes need looking up in PostgreSQL.
  const pushes = allPushes.filter(
    x => shardOf(x, config) === p.shard && (!p.eventsComplete || p.events.has(eventKey(x.campaignId, x.trigger))),
  )
  // Missing (campaign, client) pairs, grouped by fan-out (campaign and trigger).
  const byPair = new Map(pushes.map(x => [`${x.campaignId}/${x.clientId}`, x]))
  const groups = new Map<string, { push: PublishedPush; clients: string[] }>()
  const pairs = [...byPair.values()]
  for (let i = 0; i < pairs.length; i += LOOKUP_CHUNK) {
    const chunk = pairs.slice(i, i + LOOKUP_CHUNK)
    const missing = await pgStep(() =>
      missingPushes(
        pool,
        chunk.map(x => x.campaignId),
        chunk.map(x => x.clientId),
      ),
    )
    for (const m of missing) {
      const push = byPair.get(`${m.campaign}/${m.client}`)!
      const key = eventKey(push.campaignId, push.trigger)
      const g = groups.get(key) ?? { push, clients: [] }
      g.clients.push(m.client)
      groups.set(key, g)
    }
  }
  const rejects = allRejects.filter(r => r.partition % config.shards === p.shard)
  const lost = rejects.length ? await pgStep(() => missingRejects(pool, rejects)) : new Set<string>()
  const lostRejects = rejects.filter(r => lost.has(positionKey(r.topic, r.partition, r.offset)))
  const feedbackCount = [...groups.values()].reduce((n, g) => n + g.clients.length, 0)
  const feedbackIds = await pgStep(() => reserveIds(pool, 'subscribers_feedback', feedbackCount))
  const rejectIds = await pgStep(() => reserveIds(pool, 'offerstream_rejects', lostRejects.length))
  const jumped = {
    push: Math.max(p.cursor.push, feedbackIds.at(-1) ?? 0),
    dlq: Math.max(p.cursor.dlq, rejectIds.at(-1) ?? 0),
  }
  // The cursor moves past the ids first (see repairShards).
  if (jumped.push !== p.cursor.push || jumped.dlq !== p.cursor.dlq) await p.producer.publish([], jumped)
  let events = 0
  await withTransaction(pool, async client => {
    let next = 0
    for (const g of groups.values()) {
      const { push } = g
      const ref = p.events.get(eventKey(push.campaignId, push.trigger))
      let eventId: number | null
      if (ref) {
        const before = await findEvent(client, push.campaignId, push.trigger, p.shard)
        eventId = await ensureEvent(client, { ...push, topic: ref.topic, partition: ref.partition, offset: ref.offset, shard: p.shard })
        if (before === null) events++
      } else eventId = await findEvent(client, push.campaignId, push.trigger, p.shard)
      if (eventId === null)
        throw impossible(
          `shard ${p.shard}: campaign ${push.campaignId} (fan-out started at ${push.trigger}) was pushed, PostgreSQL lost its event, ` +
            'and the cursor records that would name its input position predate this version',
        )
      const clients = g.clients.sort()
      await restoreRows(client, eventId, feedbackIds.slice(next, next + clients.length), clients, push.trigger)
      next += clients.length
    }
    await restoreRejects(
      client,
      lostRejects.map((r, i): RestoredReject => ({ ...r, id: rejectIds[i]!, shard: p.shard })),
    )
    await raiseShardFloor(client, p.shard, jumped.push, jumped.dlq)
  })
  log.warn(
    {
      shard: p.shard,
      cursor: p.cursor,
      postgres: p.position,
      jumpedTo: jumped,
      feedback: feedbackCount,
      events,
      rejects: lostRejects.length,
      fanouts: groups.size,
    },
    'restored what PostgreSQL lost from the published records',
  )
  return { feedback: feedbackCount, events, rejects: lostRejects.length }
}

function shardOf(x: PublishedPush, config: Config): number {
  return shardOfCampaign(x.campaignId, config.shards)
}
