import { Consumer, Producer } from '@platformatic/kafka'
import type { Config } from '../config/settings.ts'
import { kafkaBaseOptions } from './client-options.ts'
import { translateKafkaError } from './kafka-errors.ts'
import { keyPartition } from './key-partition.ts'
import { readCursor } from './read-cursor.ts'
import { type CursorEvent, encodeCursor, type RelayCursor, START_CURSOR } from './relay-cursor.ts'

export interface OutMessage {
  topic: string
  key: string | Buffer | null
  value: string | Buffer | null
  headers?: Map<string, string>
}

type Bytes = string | Buffer
const toBuffer = (v?: Bytes) => (v === undefined ? undefined : typeof v === 'string' ? Buffer.from(v) : v)

// The client turns one send into one record batch per partition, and the broker refuses a batch
// over message.max.bytes (1 MB by default) with MESSAGE_TOO_LARGE, which no retry cures: a full
// relay transaction (OFFERSTREAM_RELAY_BATCH pushes, 5,000 by default, or a few large DLQ values)
// can exceed it. So a transaction is sent in slices of at most this many bytes; the commit still
// makes them visible atomically.
/** @internal exported for its unit test */
export const SEND_BYTES = 512 * 1024

type Sized = { key?: Bytes; value?: Bytes; headers?: Map<Bytes, Bytes> }
const len = (v?: Bytes) => (v === undefined ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length)

/** Splits messages into consecutive slices of at most `limit` bytes (a bigger message goes alone). @internal exported for its unit test */
export function slicesOfBytes<T extends Sized>(messages: T[], limit: number): T[][] {
  const out: T[][] = []
  let slice: T[] = []
  let bytes = 0
  for (const m of messages) {
    let size = 32 + len(m.key) + len(m.value)
    for (const [k, v] of m.headers ?? []) size += 8 + len(k) + len(v)
    if (slice.length > 0 && bytes + size > limit) {
      out.push(slice)
      slice = []
      bytes = 0
    }
    slice.push(m)
    bytes += size
  }
  if (slice.length > 0) out.push(slice)
  return out
}

/** The transactional id of a shard's relay; its cursor record in the state topic has it as key. */
export const shardTransactionalId = (config: Pick<Config, 'transactionalId'>, shard: number) => `${config.transactionalId}-${shard}`

/**
 * The transactional producer behind push_message and the DLQ, one per shard. open() fences any older
 * incarnation (completing or aborting its open transaction) and only then reads the committed cursor,
 * so the cursor it returns is exactly what consumers can see. An incarnation starts at a new producer
 * epoch; under transactions v2 every commit moves it one further, always above the older incarnations'.
 */
export class OutputProducer {
  #producer: Producer<Bytes, Bytes, Bytes, Bytes>
  #reader: Consumer<Buffer, Buffer, Buffer, Buffer>
  #config: Config
  #id: string
  #before: (() => Promise<RelayCursor | null>) | undefined
  /** push_message's partition count, read at open(): pushes get their partition from keyPartition. */
  #pushPartitions = 0
  /** Whether open() returned the cursor of `before` (this id had none of its own yet). */
  inherited = false

  /** before: the cursor to start from when this id has none yet (a deployment upgraded from one relay). */
  constructor(config: Config, transactionalId: string, before?: () => Promise<RelayCursor | null>) {
    this.#config = config
    this.#id = transactionalId
    this.#before = before
    this.#producer = new Producer({
      ...kafkaBaseOptions(config, 'relay'),
      // The first send after a commit meets CONCURRENT_TRANSACTIONS until the broker has written the
      // markers (~10-20 ms); the client's default 1 s retry delay would put that on every transaction.
      retryDelay: 10,
      retries: 20,
      // The client refreshes metadata before a send once it is older than this (default 5 s): a
      // shard relay that sends every ~12 s at a quiet rate paid a Metadata round trip on every
      // transaction. Java's default is 5 min; a leader move is noticed anyway, by the send it breaks,
      // after which the relay rebuilds the producer with fresh metadata.
      metadataMaxAge: 300_000,
      idempotent: true,
      transactionalId,
      // Under transactions v2 the epoch moves on at every commit; fencing is unchanged: open()'s
      // InitProducerId with -1/-1 bumps it past whatever epoch an older incarnation reached.
      transactionsV2: config.kafkaTransactions !== 'v1',
      acks: -1,
      serializers: { key: toBuffer, value: toBuffer, headerKey: toBuffer, headerValue: toBuffer },
    })
    this.#reader = new Consumer({ ...kafkaBaseOptions(config, 'cursor-reader'), groupId: `${config.groupId}-cursor-reader` })
  }

  /** Whether this incarnation's transactions run v2 (KIP-890 part 2): known once open() has run. */
  get transactionsV2(): boolean {
    return this.#producer.transactionsV2
  }

  /** Initialises the transactional id and returns the committed cursor. */
  async open(): Promise<RelayCursor> {
    try {
      // -1/-1 asks for a new epoch of this transactional id whatever epoch it had; the client's
      // default (0/0) is refused as fenced once the id has history.
      const tx = await this.#producer.beginTransaction({ producerId: -1n, producerEpoch: -1 })
      await tx.cancel()
      const { outputTopic } = this.#config
      const metadata = await this.#producer.metadata({ topics: [outputTopic] })
      this.#pushPartitions = metadata.topics.get(outputTopic)?.partitionsCount ?? 0
      const cursor = await readCursor(this.#reader, this.#config.stateTopic, this.#id)
      this.inherited = cursor === null
      return cursor ?? (await this.#before?.()) ?? START_CURSOR
    } catch (error) {
      throw translateKafkaError(error)
    }
  }

  /** Publishes messages and the new cursor atomically. */
  async publish(messages: OutMessage[], cursor: RelayCursor, events: CursorEvent[] = []): Promise<void> {
    try {
      const tx = await this.#producer.beginTransaction()
      const { outputTopic } = this.#config
      const partitions = this.#pushPartitions
      const all: Array<{ topic: string; partition?: number; key?: Bytes; value?: Bytes; headers?: Map<Bytes, Bytes> }> = messages.map(
        m => ({
          topic: m.topic,
          // A partition count added since open() is seen at the next incarnation; until then pushes
          // stay on the partitions that existed, as a Java producer with stale metadata would do.
          partition: m.topic === outputTopic && m.key !== null && partitions > 0 ? keyPartition(m.key, partitions) : undefined,
          key: m.key ?? undefined,
          value: m.value ?? undefined,
          headers: m.headers,
        }),
      )
      all.push({ topic: this.#config.stateTopic, key: this.#id, value: encodeCursor(cursor, events) })
      for (const slice of slicesOfBytes(all, SEND_BYTES)) await tx.send({ messages: slice })
      await tx.commit()
    } catch (error) {
      throw translateKafkaError(error)
    }
  }

  async close(): Promise<void> {
    // An open transaction is left to the broker: the next incarnation's init aborts it.
    await this.#producer.close(true).catch(() => {})
    await this.#reader.close(true).catch(() => {})
  }
}
