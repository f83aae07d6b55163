import { Consumer, type Producer } from '@platformatic/kafka'
import type { Config } from '../config/settings.ts'
import { kafkaBaseOptions } from './client-options.ts'
import { translateKafkaError } from './kafka-errors.ts'
import { readCursor } from './read-cursor.ts'
import { type CursorEvent, encodeCursor, type RelayCursor, START_CURSOR } from './relay-cursor.ts'
import { type Bytes, initTransactions, type OutMessage, outRecords, pushPartitions, relayProducer } from './relay-producer.ts'

export type { OutMessage } from './relay-producer.ts'

// The client turns one send into one record batch per partition, and the broker refuses a batch
// over message.max.bytes (1 MB by default) with MESSAGE_TOO_LARGE, which no retry cures: a full
// relay transaction (OFFERSTREAM_RELAY_BATCH pushes, 5,000 by default, or a few large DLQ values)
// can exceed it. So a transaction is sent in slices of at most this many bytes; the commit still
// makes them visible atomically.
export const SEND_BYTES = 512 * 1024

type Sized = { key?: Bytes; value?: Bytes; headers?: Map<Bytes, Bytes> }
const len = (v?: Bytes) => (v === undefined ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length)

/** Splits messages into consecutive slices of at most `limit` bytes (a bigger message goes alone). */
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
 * A shard's own transactional producer behind push_message and the DLQ (OFFERSTREAM_RELAY_PRODUCER=shard,
 * and the regression repair). open() fences any older
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
    this.#producer = relayProducer(config, transactionalId)
    this.#reader = new Consumer({ ...kafkaBaseOptions(config, 'cursor-reader'), groupId: `${config.groupId}-cursor-reader` })
  }

  /** Whether this incarnation's transactions run v2 (KIP-890 part 2): known once open() has run. */
  get transactionsV2(): boolean {
    return this.#producer.transactionsV2
  }

  /** Initialises the transactional id and returns the committed cursor. */
  async open(): Promise<RelayCursor> {
    try {
      await initTransactions(this.#producer)
      this.#pushPartitions = await pushPartitions(this.#producer, this.#config.outputTopic)
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
      const all = outRecords(messages, this.#config.outputTopic, this.#pushPartitions)
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
