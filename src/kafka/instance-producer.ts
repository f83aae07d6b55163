import type { Producer } from '@platformatic/kafka'
import type { Config } from '../config/settings.ts'
import { ErrorCodes, OfferstreamError } from '../errors.ts'
import { translateKafkaError } from './kafka-errors.ts'
import { SEND_BYTES, slicesOfBytes } from './output-producer.ts'
import { type CursorEvent, encodeCursor, type RelayCursor } from './relay-cursor.ts'
import {
  type Bytes,
  initTransactions,
  type OutMessage,
  type OutRecord,
  outRecords,
  pushPartitions,
  relayProducer,
} from './relay-producer.ts'

/** The transactional id of an instance's relay producer: `<OFFERSTREAM_TRANSACTIONAL_ID>-<owner id>`. */
export const instanceTransactionalId = (config: Pick<Config, 'transactionalId'>, owner: string) => `${config.transactionalId}-${owner}`

interface Waiting {
  incarnation: number
  records: OutRecord[]
  resolve(): void
  reject(error: Error): void
}

/**
 * One transactional producer for every shard relay of an instance (OFFERSTREAM_RELAY_PRODUCER=instance).
 * Relays that publish while a transaction is in flight ride in the next one together, each with its
 * shard's cursor record, so the broker sees one transaction per round instead of one per shard.
 *
 * Fencing (docs/scaling.md, "Tenth round"): a shard's new owner raises the shard's epoch in
 * PostgreSQL, then initialises its previous owner's instance id (aborting that instance's open
 * transaction), and only then reads the shard's cursor. Each incarnation here is a new
 * initialisation of the id, and a relay checks its shard's epoch after the initialisation it
 * publishes under (ShardOutput): an incarnation made before the new owner's fence is fenced by it; one
 * made after sees the raised epoch. A relay publishes only under the incarnation it opened with, so after
 * any failure every relay re-checks and re-reads its cursor.
 */
export class InstanceProducer {
  #config: Config
  #id: string
  #producer: Producer<Bytes, Bytes, Bytes, Bytes> | undefined
  #opening: Promise<number> | undefined
  #incarnation = 0
  #pushPartitions = 0
  #queue: Waiting[] = []
  #sending = false
  #closed = false

  constructor(config: Config, transactionalId: string) {
    this.#config = config
    this.#id = transactionalId
  }

  get transactionalId(): string {
    return this.#id
  }

  /** Whether the transactions run v2 (KIP-890 part 2): known once ready() has run. */
  get transactionsV2(): boolean {
    return this.#producer?.transactionsV2 ?? false
  }

  /** The current incarnation, initialising a new one when there is none (at start, after a failure). */
  ready(): Promise<number> {
    if (this.#closed) return Promise.reject(closedError())
    if (this.#producer) return Promise.resolve(this.#incarnation)
    this.#opening ??= this.#open().finally(() => {
      this.#opening = undefined
    })
    return this.#opening
  }

  async #open(): Promise<number> {
    const producer = relayProducer(this.#config, this.#id)
    try {
      await initTransactions(producer)
      this.#pushPartitions = await pushPartitions(producer, this.#config.outputTopic)
    } catch (error) {
      await producer.close(true).catch(() => {})
      throw translateKafkaError(error)
    }
    if (this.#closed) {
      await producer.close(true).catch(() => {})
      throw closedError()
    }
    this.#producer = producer
    return ++this.#incarnation
  }

  /**
   * Publishes a shard's messages and its cursor (under `cursorKey`) in the instance's next
   * transaction. Rejects, with nothing of it committed, when `incarnation` is no longer current;
   * when the transaction fails, everything in it is rejected and the incarnation ends.
   */
  publish(incarnation: number, cursorKey: string, messages: OutMessage[], cursor: RelayCursor, events: CursorEvent[] = []): Promise<void> {
    if (this.#closed) return Promise.reject(closedError())
    if (!this.#producer || incarnation !== this.#incarnation) return Promise.reject(staleError())
    const records = outRecords(messages, this.#config.outputTopic, this.#pushPartitions)
    records.push({ topic: this.#config.stateTopic, key: cursorKey, value: encodeCursor(cursor, events) })
    return new Promise((resolve, reject) => {
      this.#queue.push({ incarnation, records, resolve, reject })
      if (!this.#sending) void this.#send()
    })
  }

  /** Sends transactions one after another, each with everything queued when it begins. */
  async #send(): Promise<void> {
    this.#sending = true
    try {
      while (this.#queue.length > 0) {
        const round = this.#queue.splice(0)
        const producer = this.#producer
        const current = round.filter(w => w.incarnation === this.#incarnation)
        for (const w of round) if (w.incarnation !== this.#incarnation) w.reject(staleError())
        if (current.length === 0) continue
        if (!producer || this.#closed) {
          for (const w of current) w.reject(this.#closed ? closedError() : staleError())
          continue
        }
        try {
          const tx = await producer.beginTransaction()
          for (const slice of slicesOfBytes(
            current.flatMap(w => w.records),
            SEND_BYTES,
          ))
            await tx.send({ messages: slice })
          await tx.commit()
          for (const w of current) w.resolve()
        } catch (error) {
          // The transaction's outcome is left to the next incarnation's initialisation, which completes or aborts it.
          this.#producer = undefined
          await producer.close(true).catch(() => {})
          const translated = translateKafkaError(error)
          for (const w of current) w.reject(translated)
        }
      }
    } finally {
      this.#sending = false
    }
  }

  /** Idempotent. A transaction in flight is left to the broker: the next initialisation of the id aborts it. */
  async close(): Promise<void> {
    this.#closed = true
    await this.#opening?.catch(() => {})
    const producer = this.#producer
    this.#producer = undefined
    await producer?.close(true).catch(() => {})
  }
}

const staleError = () =>
  new OfferstreamError(ErrorCodes.KAFKA_FAILED, "the instance's relay producer was re-initialised since this relay opened", {
    retryable: true,
  })

const closedError = () => new OfferstreamError(ErrorCodes.KAFKA_FAILED, "the instance's relay producer is closed", { retryable: true })
