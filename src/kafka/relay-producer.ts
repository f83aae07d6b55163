import { Producer } from '@platformatic/kafka'
import type { Config } from '../config/settings.ts'
import { kafkaBaseOptions } from './client-options.ts'
import { translateKafkaError } from './kafka-errors.ts'
import { keyPartition } from './key-partition.ts'

export interface OutMessage {
  topic: string
  key: string | Buffer | null
  value: string | Buffer | null
  headers?: Map<string, string>
}

export type Bytes = string | Buffer
/** A record as the client sends it: pushes carry their partition (keyPartition), the rest the client's default. */
export type OutRecord = { topic: string; partition?: number; key?: Bytes; value?: Bytes; headers?: Map<Bytes, Bytes> }

const toBuffer = (v?: Bytes) => (v === undefined ? undefined : typeof v === 'string' ? Buffer.from(v) : v)

/** A transactional producer as every relay producer is configured; not yet initialised. */
export function relayProducer(config: Config, transactionalId: string, role = 'relay'): Producer<Bytes, Bytes, Bytes, Bytes> {
  return new Producer({
    ...kafkaBaseOptions(config, role),
    // The first send after a commit meets CONCURRENT_TRANSACTIONS until the broker has written the
    // markers (~10-20 ms); the client's default 1 s retry delay would put that on every transaction.
    retryDelay: 10,
    retries: 20,
    // The client refreshes metadata before a send once it is older than this (default 5 s): a
    // relay that sends every ~12 s at a quiet rate paid a Metadata round trip on every
    // transaction. Java's default is 5 min; a leader move is noticed anyway, by the send it breaks,
    // after which the relay rebuilds the producer with fresh metadata.
    metadataMaxAge: 300_000,
    idempotent: true,
    transactionalId,
    // Under transactions v2 the epoch moves on at every commit; fencing is unchanged: an
    // InitProducerId with -1/-1 bumps it past whatever epoch an older incarnation reached.
    transactionsV2: config.kafkaTransactions !== 'v1',
    acks: -1,
    serializers: { key: toBuffer, value: toBuffer, headerKey: toBuffer, headerValue: toBuffer },
  })
}

/**
 * Initialises the producer's transactional id at a new epoch, whatever epoch it had: whoever held
 * it before is fenced and its open transaction completed or aborted before this returns. (The
 * client's default 0/0 is refused as fenced once the id has history.)
 */
export async function initTransactions(producer: Producer<Bytes, Bytes, Bytes, Bytes>): Promise<void> {
  const tx = await producer.beginTransaction({ producerId: -1n, producerEpoch: -1 })
  await tx.cancel()
}

/**
 * Fences every holder of these transactional ids (a shard's previous owners, before its cursor is
 * read): each is initialised once by a producer made for it and closed. Ids that never existed are
 * simply created.
 */
export async function fenceTransactionalIds(config: Config, ids: string[]): Promise<void> {
  await Promise.all(
    ids.map(async id => {
      const producer = relayProducer(config, id, 'fence')
      try {
        await initTransactions(producer)
      } catch (error) {
        throw translateKafkaError(error)
      } finally {
        await producer.close(true).catch(() => {})
      }
    }),
  )
}

/** The records of `messages`; push_message records get their partition from keyPartition over `pushPartitions`. */
export function outRecords(messages: OutMessage[], outputTopic: string, pushPartitions: number): OutRecord[] {
  return messages.map(m => ({
    topic: m.topic,
    // A partition count added since the producer was opened is seen at its next incarnation; until
    // then pushes stay on the partitions that existed, as a Java producer with stale metadata would do.
    partition: m.topic === outputTopic && m.key !== null && pushPartitions > 0 ? keyPartition(m.key, pushPartitions) : undefined,
    key: m.key ?? undefined,
    value: m.value ?? undefined,
    headers: m.headers,
  }))
}

/** push_message's partition count as the producer's metadata has it (0 when unknown). */
export async function pushPartitions(producer: Producer<Bytes, Bytes, Bytes, Bytes>, outputTopic: string): Promise<number> {
  const metadata = await producer.metadata({ topics: [outputTopic] })
  return metadata.topics.get(outputTopic)?.partitionsCount ?? 0
}
