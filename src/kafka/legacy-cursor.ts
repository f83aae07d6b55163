import { Consumer, Producer } from '@platformatic/kafka'
import type { Config } from '../config/settings.ts'
import { kafkaBaseOptions } from './client-options.ts'
import { translateKafkaError } from './kafka-errors.ts'
import { readCursor } from './read-cursor.ts'
import type { RelayCursor } from './relay-cursor.ts'

/**
 * Where the single relay of a deployment from before sharding stopped: its transactional id is
 * OFFERSTREAM_TRANSACTIONAL_ID itself. It published every shard's rows in one id order, so its
 * cursor is a valid start for each shard's relay that has no cursor of its own yet. The id is
 * initialised first, which fences that old relay and settles its open transaction, so the cursor
 * read is final. Null on a deployment that never ran the single relay.
 */
export async function legacyCursor(config: Config): Promise<RelayCursor | null> {
  const producer = new Producer({
    ...kafkaBaseOptions(config, 'legacy-relay'),
    idempotent: true,
    transactionalId: config.transactionalId,
    acks: -1,
  })
  const reader = new Consumer({ ...kafkaBaseOptions(config, 'legacy-cursor-reader'), groupId: `${config.groupId}-cursor-reader` })
  try {
    const tx = await producer.beginTransaction({ producerId: -1n, producerEpoch: -1 })
    await tx.cancel()
    return await readCursor(reader, config.stateTopic, config.transactionalId)
  } catch (error) {
    throw translateKafkaError(error)
  } finally {
    await producer.close(true).catch(() => {})
    await reader.close(true).catch(() => {})
  }
}
