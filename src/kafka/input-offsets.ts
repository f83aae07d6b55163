import { Admin } from '@platformatic/kafka'
import type { Config } from '../config/settings.ts'
import { kafkaBaseOptions } from './client-options.ts'
import { translateKafkaError } from './kafka-errors.ts'

/** The input group's committed offset of each input partition that has one (the next record to read). */
export async function committedInputOffsets(config: Config): Promise<Map<number, bigint>> {
  const admin = new Admin(kafkaBaseOptions(config, 'failover-admin'))
  try {
    const groups = await admin.listConsumerGroupOffsets({ groups: [config.groupId] })
    const out = new Map<number, bigint>()
    for (const t of groups[0]?.topics ?? [])
      for (const p of t.partitions)
        if (t.name === config.inputTopic && p.committedOffset >= 0n) out.set(p.partitionIndex, p.committedOffset)
    return out
  } catch (error) {
    throw translateKafkaError(error)
  } finally {
    await admin.close().catch(() => {})
  }
}

/**
 * Moves the input group's committed offsets back, so the records PostgreSQL lost are consumed again.
 * Kafka accepts this only while the group has no members: the caller runs it before this instance
 * joins, and retries while another one (a dead incarnation whose session has not expired) is still in.
 */
export async function rewindInput(config: Config, offsets: Map<number, bigint>): Promise<void> {
  const admin = new Admin(kafkaBaseOptions(config, 'failover-admin'))
  try {
    await admin.alterConsumerGroupOffsets({
      groupId: config.groupId,
      topics: [{ name: config.inputTopic, partitionOffsets: [...offsets].map(([partition, offset]) => ({ partition, offset })) }],
    })
  } catch (error) {
    throw translateKafkaError(error)
  } finally {
    await admin.close().catch(() => {})
  }
}
