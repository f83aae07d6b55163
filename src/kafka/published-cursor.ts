import { Consumer } from '@platformatic/kafka'
import type { Config } from '../config/settings.ts'
import { kafkaBaseOptions } from './client-options.ts'
import { translateKafkaError } from './kafka-errors.ts'
import { shardTransactionalId } from './output-producer.ts'
import { readCursors } from './read-cursor.ts'
import { type RelayCursor, START_CURSOR } from './relay-cursor.ts'

/**
 * A lower bound of what each shard's relay has published (index = shard): its last committed
 * cursor in the state topic, else the pre-sharding relay's (where every shard's relay starts on
 * an upgraded deployment), else nothing. Read without touching the transactional ids
 * (initialising one would fence a running relay): a transaction still open is left undecided and
 * its cursor ignored, so a bound may be behind, never ahead; cursors only grow, so a stale read is
 * only more conservative.
 */
export async function publishedCursors(config: Config): Promise<RelayCursor[]> {
  const consumer = new Consumer({ ...kafkaBaseOptions(config, 'prune'), groupId: `${config.groupId}-prune` })
  const ids = Array.from({ length: config.shards }, (_, shard) => shardTransactionalId(config, shard))
  try {
    const found = await readCursors(consumer, config.stateTopic, [...ids, config.transactionalId])
    const legacy = found.get(config.transactionalId) ?? START_CURSOR
    return ids.map(id => found.get(id) ?? legacy)
  } catch (error) {
    if (/state topic .* does not exist|Unknown topic/i.test((error as Error).message)) return ids.map(() => START_CURSOR)
    throw translateKafkaError(error)
  } finally {
    await consumer.close(true).catch(() => {})
  }
}
