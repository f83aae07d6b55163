import { type Seen, watchPushes } from '../testkit/sinks.ts'
import type { BenchEnv } from './bench-env.ts'
import type { watchCursor } from './observe.ts'

/**
 * When everything landed: PostgreSQL when the last expected row's chunk committed (NOTIFY), Kafka
 * when each relay's committed cursor passed its last fan-out range (the pushes commit with it). One
 * relay (transactional id = its cursor's key) on the single-writer design; one per shard, keyed
 * `<transactional id>-<shard>`, once offerstream_fanouts has a shard column.
 */
export async function landed(env: BenchEnv, pg: Seen, pgTarget: number, cursor: Awaited<ReturnType<typeof watchCursor>>, tick: () => void) {
  if (!(await pg.waitFor(pgTarget, 600000, tick))) throw new Error(`only ${pg.total} of ${pgTarget} rows committed within 10 minutes`)
  const pgAt = pg.lastAt
  const txId = env.config.transactionalId
  const sharded = await env.pool.query(
    `select 1 from information_schema.columns where table_name = 'offerstream_fanouts' and column_name = 'shard'`,
  )
  const { rows } = await env.pool.query<{ key: string; id: number }>(
    sharded.rowCount
      ? `select $1::text || '-' || shard as key, max(last_id)::bigint as id from offerstream_fanouts group by shard`
      : `select $1::text as key, max(last_id)::bigint as id from offerstream_fanouts having count(*) > 0`,
    [txId],
  )
  const kafkaAt = await cursor.reached(new Map(rows.map(r => [r.key, Number(r.id)])), 600000, tick)
  if (kafkaAt === undefined) throw new Error('the relay cursors did not reach the last fan-outs within 10 minutes')
  return { pgAt, kafkaAt }
}

/** Counts the pushes a read_committed consumer finds in the topic (after the timed window). */
export async function countPushes(brokers: string[], topic: string, atLeast: number): Promise<Seen> {
  const k = await watchPushes(brokers, topic, false)
  await k.seen.waitFor(atLeast, 120000)
  await new Promise(r => setTimeout(r, 1500)) // anything beyond the expected count would be a duplicate
  await k.close()
  return k.seen
}
