import type { BenchEnv } from './bench-env.ts'
import { type Seen, type watchCursor, watchKafka } from './observe.ts'

/**
 * When everything landed: PostgreSQL when the last expected row's chunk committed (NOTIFY), Kafka
 * when the relay's committed cursor passed the last fan-out range (the pushes commit with it).
 */
export async function landed(env: BenchEnv, pg: Seen, pgTarget: number, cursor: Awaited<ReturnType<typeof watchCursor>>, tick: () => void) {
  if (!(await pg.waitFor(pgTarget, 600000, tick))) throw new Error(`only ${pg.total} of ${pgTarget} rows committed within 10 minutes`)
  const pgAt = pg.lastAt
  const { rows } = await env.pool.query<{ id: number }>('select coalesce(max(last_id), 0)::bigint as id from offerstream_fanouts')
  const kafkaAt = await cursor.reached(rows[0]!.id, 600000, tick)
  if (kafkaAt === undefined) throw new Error('the relay cursor did not reach the last fan-out within 10 minutes')
  return { pgAt, kafkaAt }
}

/** Counts the pushes a read_committed consumer finds in the topic (after the timed window). */
export async function countPushes(brokers: string[], topic: string, atLeast: number): Promise<Seen> {
  const k = await watchKafka(brokers, topic, false)
  await k.seen.waitFor(atLeast, 120000)
  await new Promise(r => setTimeout(r, 1500)) // anything beyond the expected count would be a duplicate
  await k.close()
  return k.seen
}
