import { Admin } from '@platformatic/kafka'
import type { Config } from '../config/settings.ts'
import { ErrorCodes, OfferstreamError } from '../errors.ts'
import { kafkaBaseOptions } from './client-options.ts'
import { translateKafkaError } from './kafka-errors.ts'

/** Room for any input record the broker accepts (up to 16 MB) plus the reason headers. */
const DLQ_MAX_MESSAGE_BYTES = 16 * 1024 * 1024 + 65536

/**
 * Replication of the topics we create: `auto` is one replica per broker up to 3. With 3 replicas a
 * write (acks=all) needs 2 in sync, so one broker may die without losing an acknowledged record or
 * stopping writes; with fewer there is no spare replica to require.
 * @internal also used by tests
 */
export function replication(setting: string, brokers: number): { replicas: number; minInsync?: number } {
  const replicas = setting === 'auto' ? Math.max(1, Math.min(3, brokers)) : Number(setting)
  return replicas >= 3 ? { replicas, minInsync: 2 } : { replicas }
}

/** Creates the service's topics when missing; existing topics are left as they are. */
export async function ensureTopics(config: Config): Promise<string[]> {
  const admin = new Admin(kafkaBaseOptions(config, 'admin'))
  try {
    const existing = new Set(await admin.listTopics())
    const { replicas, minInsync } = replication(config.topicReplicas, (await admin.metadata({ topics: [] })).brokers.size)
    const created: string[] = []
    const want: Array<{ name: string; partitions: number; compact: boolean; maxBytes?: number }> = [
      { name: config.inputTopic, partitions: config.topicPartitions, compact: false },
      { name: config.outputTopic, partitions: config.topicPartitions, compact: false },
      // A DLQ record is an input record plus reason headers: with the input topic's 1 MB limit, the
      // largest accepted input value was refused on the DLQ (MESSAGE_TOO_LARGE) and wedged the relay.
      { name: config.dlqTopic, partitions: config.topicPartitions, compact: false, maxBytes: DLQ_MAX_MESSAGE_BYTES },
      { name: config.feedbackTopic, partitions: config.topicPartitions, compact: false },
      { name: config.feedbackDlqTopic, partitions: config.topicPartitions, compact: false, maxBytes: DLQ_MAX_MESSAGE_BYTES },
      // One partition: the relay cursor is a single, totally ordered record stream.
      { name: config.stateTopic, partitions: 1, compact: true },
      // Never written: the consumer group hands out its partitions, one per shard.
      { name: config.shardTopic, partitions: config.shards, compact: false },
    ]
    for (const t of want) {
      if (existing.has(t.name)) continue
      try {
        await admin.createTopics({
          topics: [t.name],
          partitions: t.partitions,
          replicas,
          configs: [
            ...(minInsync ? [{ name: 'min.insync.replicas', value: String(minInsync) }] : []),
            ...(t.compact ? [{ name: 'cleanup.policy', value: 'compact' }] : []),
            ...(t.maxBytes ? [{ name: 'max.message.bytes', value: String(t.maxBytes) }] : []),
          ],
        })
        created.push(t.name)
      } catch (error) {
        // Another instance may have created it between list and create.
        if (
          !/TOPIC_ALREADY_EXISTS|already exists/i.test(
            String((error as Error).message) + JSON.stringify((error as AggregateError).errors ?? []),
          )
        )
          throw error
      }
    }
    // Only a topic that was already there can disagree (one just created may not be in the metadata yet).
    const shardTopic = existing.has(config.shardTopic)
      ? (await admin.metadata({ topics: [config.shardTopic] })).topics.get(config.shardTopic)
      : undefined
    if (shardTopic && shardTopic.partitionsCount !== config.shards)
      throw new OfferstreamError(
        ErrorCodes.CONFIG_INVALID,
        `topic ${config.shardTopic} (OFFERSTREAM_SHARD_TOPIC) has ${shardTopic.partitionsCount} partitions but OFFERSTREAM_SHARDS is ${config.shards}; they must match`,
      )
    return created
  } catch (error) {
    if (error instanceof OfferstreamError) throw error
    throw translateKafkaError(error)
  } finally {
    await admin.close().catch(() => {})
  }
}
