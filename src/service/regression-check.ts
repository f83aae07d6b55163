import { Consumer } from '@platformatic/kafka'
import type pg from 'pg'
import type { Config } from '../config/settings.ts'
import { ErrorCodes, OfferstreamError } from '../errors.ts'
import { kafkaBaseOptions } from '../kafka/client-options.ts'
import { committedInputOffsets, rewindInput } from '../kafka/input-offsets.ts'
import { translateKafkaError } from '../kafka/kafka-errors.ts'
import { shardTransactionalId } from '../kafka/output-producer.ts'
import { readCursors } from '../kafka/read-cursor.ts'
import type { RelayCursor } from '../kafka/relay-cursor.ts'
import type { Metrics } from '../metrics/metrics.ts'
import { currentTimeline } from '../pg/db-identity.ts'
import { translatePgError } from '../pg/pg-errors.ts'
import { advanceSequences } from '../pg/sql/advance-sequences.ts'
import { inputPositions } from '../pg/sql/input-positions.ts'
import { shardPositions } from '../pg/sql/shard-positions.ts'
import type { Logger } from './logger.ts'
import { repairShards } from './regression-repair.ts'

// Any constant: instances starting at once check (and repair) one after another.
const REGRESSION_LOCK = 7_304_020
const REWIND_ATTEMPTS = 40

/** One place where PostgreSQL is behind Kafka's committed state. */
interface Regression {
  /** The shard (relay cursor) or, for 'input', the input partition. */
  shard?: number
  partition?: number
  table: 'offerstream_fanouts' | 'offerstream_rejects' | 'offerstream_events'
  kafka: string
  postgres: string
}

export interface RegressionReport {
  /** The timeline checked against; a pool connection on another one means a failover since (db-identity.ts). */
  timeline: string
  found: Regression[]
  /** What was done: nothing to do, restored, accepted without restoring. */
  outcome: 'none' | 'repaired' | 'accepted'
  repairMs: number
  restored: { feedback: number; events: number; rejects: number; inputPartitions: number }
}

/** The relay cursors each shard committed under its own transactional id (a shard that never published has none). */
async function ownCursors(config: Config): Promise<Map<number, RelayCursor>> {
  const consumer = new Consumer({ ...kafkaBaseOptions(config, 'regression-check'), groupId: `${config.groupId}-regression-check` })
  const ids = Array.from({ length: config.shards }, (_, shard) => shardTransactionalId(config, shard))
  try {
    const found = await readCursors(consumer, config.stateTopic, ids)
    return new Map(ids.flatMap((id, shard) => (found.has(id) ? [[shard, found.get(id)!] as const] : [])))
  } catch (error) {
    if (/state topic .* does not exist|Unknown topic/i.test((error as Error).message)) return new Map()
    throw translateKafkaError(error)
  } finally {
    await consumer.close(true).catch(() => {})
  }
}

function describe(r: Regression): string {
  const where = r.table === 'offerstream_events' ? `input partition ${r.partition}` : `shard ${r.shard}`
  return `${where}: Kafka has ${r.kafka}, ${r.table} only ${r.postgres}`
}

/**
 * The start-up check of issue 20, run before ingest and the shards start: compares each relay's
 * committed cursor with the newest fan-out range and reject PostgreSQL holds for its shard, and the
 * input group's committed offsets with the newest stored input position. Sequences are moved past
 * every cursor in any case (only forward). A regression is logged as an error naming where, shown
 * in /metrics, and then handled as OFFERSTREAM_PG_REGRESSION says: repaired from Kafka (default),
 * accepted, or the start stops with PG_REGRESSION (exit 3).
 */
export async function checkRegression(pool: pg.Pool, config: Config, log: Logger, metrics: Metrics): Promise<RegressionReport> {
  let lockClient: pg.PoolClient
  try {
    lockClient = await pool.connect()
    await lockClient.query('select pg_advisory_lock($1)', [REGRESSION_LOCK])
  } catch (error) {
    throw translatePgError(error)
  }
  const t0 = performance.now()
  try {
    const timeline = await currentTimeline(lockClient)
    const cursors = await ownCursors(config)
    const positions = await shardPositions(pool, config.shards)
    let maxPush = 0
    let maxDlq = 0
    for (const c of cursors.values()) {
      maxPush = Math.max(maxPush, c.push)
      maxDlq = Math.max(maxDlq, c.dlq)
    }
    await advanceSequences(pool, maxPush, maxDlq)
    const found: Regression[] = []
    const regressedShards = new Map<number, { push: number; dlq: number }>()
    for (const [shard, c] of cursors) {
      const p = positions[shard]!
      if (c.push > p.push)
        found.push({ shard, table: 'offerstream_fanouts', kafka: `cursor push=${c.push}`, postgres: `up to id ${p.push}` })
      if (c.dlq > p.dlq) found.push({ shard, table: 'offerstream_rejects', kafka: `cursor dlq=${c.dlq}`, postgres: `up to id ${p.dlq}` })
      if (c.push > p.push || c.dlq > p.dlq) regressedShards.set(shard, p)
    }
    const committed = await committedInputOffsets(config)
    const stored = await inputPositions(pool, config.inputTopic, [...committed.keys()])
    const rewind = new Map<number, bigint>()
    for (const [partition, offset] of committed) {
      const s = stored.get(partition) ?? null
      const next = s === null ? 0n : s + 1n
      if (offset > next) {
        rewind.set(partition, next)
        found.push({
          partition,
          table: 'offerstream_events',
          kafka: `committed offset ${offset}`,
          postgres: s === null ? 'nothing stored' : `up to offset ${s}`,
        })
      }
    }
    const report: RegressionReport = {
      timeline,
      found,
      outcome: 'none',
      repairMs: 0,
      restored: { feedback: 0, events: 0, rejects: 0, inputPartitions: 0 },
    }
    if (found.length === 0) return report
    for (const r of found) {
      metrics.pgRegression.set({ shard: String(r.shard ?? -1), table: r.table }, 1)
      log.error(
        { code: ErrorCodes.PG_REGRESSION, shard: r.shard, partition: r.partition, table: r.table, kafka: r.kafka, postgres: r.postgres },
        `PostgreSQL is behind Kafka (a failover lost committed transactions): ${describe(r)}`,
      )
    }
    if (config.pgRegression === 'stop')
      throw new OfferstreamError(
        ErrorCodes.PG_REGRESSION,
        `PostgreSQL is behind Kafka: ${found.map(describe).join('; ')}. Nothing was published past it. ` +
          'Start once with OFFERSTREAM_PG_REGRESSION=repair (offerstream run --pg-regression repair) to restore the lost rows from Kafka, ' +
          'or =accept to continue without them (docs/pg-failover.md).',
      )
    if (regressedShards.size > 0) {
      const r = await repairShards(pool, config, regressedShards, config.pgRegression === 'accept', log)
      report.restored.feedback = r.feedback
      report.restored.events = r.events
      report.restored.rejects = r.rejects
    }
    if (rewind.size > 0) {
      await rewindWhenEmpty(config, rewind, log)
      report.restored.inputPartitions = rewind.size
    }
    report.outcome = config.pgRegression === 'accept' ? 'accepted' : 'repaired'
    report.repairMs = Math.round(performance.now() - t0)
    metrics.pgRepairedRows.inc({ table: 'subscribers_feedback' }, report.restored.feedback)
    metrics.pgRepairedRows.inc({ table: 'offerstream_events' }, report.restored.events)
    metrics.pgRepairedRows.inc({ table: 'offerstream_rejects' }, report.restored.rejects)
    metrics.pgRepairSeconds.set(report.repairMs / 1000)
    for (const r of found) metrics.pgRegression.set({ shard: String(r.shard ?? -1), table: r.table }, 0)
    log.warn(
      {
        outcome: report.outcome,
        restored: report.restored,
        repairMs: report.repairMs,
        rewound: Object.fromEntries([...rewind].map(([p, o]) => [p, String(o)])),
      },
      'PostgreSQL regression handled',
    )
    return report
  } finally {
    await lockClient.query('select pg_advisory_unlock($1)', [REGRESSION_LOCK]).catch(() => {})
    lockClient.release()
  }
}

/** Kafka moves a group's offsets only while it has no members: a dead incarnation stays one until its session expires. */
async function rewindWhenEmpty(config: Config, offsets: Map<number, bigint>, log: Logger): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await rewindInput(config, offsets)
      log.warn(
        { partitions: Object.fromEntries([...offsets].map(([p, o]) => [p, String(o)])) },
        'input group rewound to what PostgreSQL holds',
      )
      return
    } catch (error) {
      if (attempt >= REWIND_ATTEMPTS) throw error
      log.warn({ err: (error as Error).message, attempt }, 'rewinding the input group failed (a member may still be in it); retrying')
      await new Promise(r => setTimeout(r, 500))
    }
  }
}

/** The relay's check before it publishes past a cursor it (re)opened: PG_REGRESSION when its shard's tables are behind it. */
export async function checkShardCursor(
  pool: pg.Pool,
  config: Pick<Config, 'shards'>,
  shard: number,
  cursor: RelayCursor,
  metrics: Metrics,
): Promise<void> {
  let positions: Array<{ push: number; dlq: number }>
  try {
    positions = await shardPositions(pool, config.shards)
  } catch (error) {
    throw translatePgError(error)
  }
  const p = positions[shard]!
  if (cursor.push <= p.push && cursor.dlq <= p.dlq) return
  const table = cursor.push > p.push ? 'offerstream_fanouts' : 'offerstream_rejects'
  metrics.pgRegression.set({ shard: String(shard), table }, 1)
  throw new OfferstreamError(
    ErrorCodes.PG_REGRESSION,
    `shard ${shard}: the relay's committed cursor (push=${cursor.push}, dlq=${cursor.dlq}) is past what PostgreSQL holds ` +
      `(fan-out ranges up to id ${p.push}, rejects up to id ${p.dlq}): a failover lost committed transactions. ` +
      'Nothing was published past it; the next start repairs it (OFFERSTREAM_PG_REGRESSION, docs/pg-failover.md).',
  )
}
