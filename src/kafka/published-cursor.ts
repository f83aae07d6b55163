import { Consumer } from '@platformatic/kafka'
import type { Config } from '../config/settings.ts'
import { kafkaBaseOptions } from './client-options.ts'
import { translateKafkaError } from './kafka-errors.ts'
import { readCursor } from './read-cursor.ts'
import type { RelayCursor } from './relay-cursor.ts'

/**
 * A lower bound of what the relay has published: the last committed cursor in the state topic,
 * read without touching the transactional id (initialising it would fence the running relay). A
 * transaction still open is left undecided and its cursor ignored, so the bound may be behind, never
 * ahead; cursors only grow, so a stale read is only more conservative. Null when nothing was
 * published yet (or the state topic does not exist).
 */
export async function publishedCursor(config: Config): Promise<RelayCursor | null> {
  const consumer = new Consumer({ ...kafkaBaseOptions(config, 'prune'), groupId: `${config.groupId}-prune` })
  try {
    return await readCursor(consumer, config.stateTopic, config.transactionalId)
  } catch (error) {
    if (/state topic .* does not exist|Unknown topic/i.test((error as Error).message)) return null
    throw translateKafkaError(error)
  } finally {
    await consumer.close(true).catch(() => {})
  }
}
