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

/**
 * Transactional producers per instance. One would serialise every shard's transactions behind each
 * other's commit markers (at 300 campaigns/s its p99 was ~20 ms worse than a producer per shard); a
 * few let a lone batch start at once while a busy instance still merges its shards' batches.
 * @internal exported for its tests
 */
export const INSTANCE_PRODUCERS = 4

/**
 * What an instance running one producer set records as the owner of the shards it takes: its id and
 * how many producers it runs, so that a later owner knows which transactional ids to fence.
 */
export const instanceOwner = (owner: string) => `${owner}/p${INSTANCE_PRODUCERS}`

/**
 * The transactional ids a shard's previous owner may hold an open transaction of it under: the
 * instance's producers when the owner says it ran a set (instanceOwner), else the shard's own relay
 * id. Nothing for a shard nobody took before.
 */
export function previousOwnerIds(config: Pick<Config, 'transactionalId'>, previousOwner: string | null, shardId: string): string[] {
  if (previousOwner === null) return []
  const set = /\/p(\d{1,3})$/.exec(previousOwner)
  if (!set) return [shardId]
  return producerIds(config, previousOwner, Number(set[1]))
}

/** The transactional ids of an instance's producers; owner: as recorded (instanceOwner). */
export const instanceTransactionalIds = (config: Pick<Config, 'transactionalId'>, owner: string) =>
  producerIds(config, owner, INSTANCE_PRODUCERS)

const producerIds = (config: Pick<Config, 'transactionalId'>, owner: string, n: number) =>
  Array.from({ length: n }, (_, k) => `${config.transactionalId}-${owner}-${k}`)

interface Waiting {
  incarnation: number
  records: OutRecord[]
  resolve(): void
  reject(error: Error): void
}

interface Slot {
  producer: Producer<Bytes, Bytes, Bytes, Bytes>
  busy: boolean
}

/**
 * The relay producers of an instance (OFFERSTREAM_RELAY_PRODUCER=instance), shared by all its shard
 * relays. A shard's batch goes out in the transaction of a free producer; batches that come while
 * every producer is busy ride together in the next one to be free, each with its shard's cursor
 * record, so a busy instance makes far fewer transactions than one producer per shard would.
 *
 * Fencing (docs/scaling.md, "Tenth round"): a shard's new owner raises the shard's epoch in
 * PostgreSQL, then initialises every id of its previous owner (aborting that instance's open
 * transactions), and only then reads the shard's cursor. An incarnation here is one initialisation
 * of all the ids; a relay checks its shard's epoch after the incarnation it publishes under is made
 * (ShardOutput): one made before the new owner's fence is fenced by it, one made after sees the
 * raised epoch. Any failed transaction ends the incarnation, so every relay re-checks its shard and
 * re-reads its cursor before it publishes again.
 */
export class InstanceProducer {
  #config: Config
  #ids: string[]
  #slots: Slot[] | undefined
  #opening: Promise<number> | undefined
  #incarnation = 0
  #pushPartitions = 0
  #queue: Waiting[] = []
  #closed = false

  constructor(config: Config, transactionalIds: string[]) {
    this.#config = config
    this.#ids = transactionalIds
  }

  /** Whether the transactions run v2 (KIP-890 part 2): known once ready() has run. */
  get transactionsV2(): boolean {
    return this.#slots?.[0]?.producer.transactionsV2 ?? false
  }

  /** The current incarnation, initialising a new one when there is none (at start, after a failure). */
  ready(): Promise<number> {
    if (this.#closed) return Promise.reject(closedError())
    if (this.#slots) return Promise.resolve(this.#incarnation)
    this.#opening ??= this.#open().finally(() => {
      this.#opening = undefined
    })
    return this.#opening
  }

  async #open(): Promise<number> {
    const producers = this.#ids.map(id => relayProducer(this.#config, id))
    const closeAll = () => Promise.all(producers.map(p => p.close(true).catch(() => {})))
    try {
      await Promise.all(producers.map(p => initTransactions(p)))
      this.#pushPartitions = await pushPartitions(producers[0]!, this.#config.outputTopic)
    } catch (error) {
      await closeAll()
      throw translateKafkaError(error)
    }
    if (this.#closed) {
      await closeAll()
      throw closedError()
    }
    this.#slots = producers.map(producer => ({ producer, busy: false }))
    return ++this.#incarnation
  }

  /**
   * Publishes a shard's messages and its cursor (under `cursorKey`) in a transaction of the
   * instance. Rejects, with nothing of it committed, when `incarnation` is no longer current; when
   * the transaction fails, everything in it is rejected and the incarnation ends.
   */
  publish(incarnation: number, cursorKey: string, messages: OutMessage[], cursor: RelayCursor, events: CursorEvent[] = []): Promise<void> {
    if (this.#closed) return Promise.reject(closedError())
    if (!this.#slots || incarnation !== this.#incarnation) return Promise.reject(staleError())
    const records = outRecords(messages, this.#config.outputTopic, this.#pushPartitions)
    records.push({ topic: this.#config.stateTopic, key: cursorKey, value: encodeCursor(cursor, events) })
    return new Promise((resolve, reject) => {
      this.#queue.push({ incarnation, records, resolve, reject })
      this.#dispatch()
    })
  }

  /** Gives everything queued to a free producer, if there is one. */
  #dispatch(): void {
    const slots = this.#slots
    if (!slots || this.#queue.length === 0) return
    const slot = slots.find(s => !s.busy)
    if (!slot) return
    const round = this.#queue.splice(0)
    slot.busy = true
    void this.#send(slots, slot, round).finally(() => {
      slot.busy = false
      this.#dispatch()
    })
  }

  async #send(slots: Slot[], slot: Slot, round: Waiting[]): Promise<void> {
    const current = round.filter(w => w.incarnation === this.#incarnation && this.#slots === slots)
    for (const w of round) if (!current.includes(w)) w.reject(staleError())
    if (current.length === 0) return
    try {
      const tx = await slot.producer.beginTransaction()
      for (const slice of slicesOfBytes(
        current.flatMap(w => w.records),
        SEND_BYTES,
      ))
        await tx.send({ messages: slice })
      await tx.commit()
      for (const w of current) w.resolve()
    } catch (error) {
      const translated = translateKafkaError(error)
      for (const w of current) w.reject(translated)
      // Every producer goes with the incarnation: the next one initialises all the ids again, which
      // completes or aborts whatever transactions were open.
      if (this.#slots === slots) {
        this.#slots = undefined
        for (const w of this.#queue.splice(0)) w.reject(staleError())
        await Promise.all(slots.map(s => s.producer.close(true).catch(() => {})))
      }
    }
  }

  /** Idempotent. Transactions in flight are left to the broker: the next initialisation of the ids aborts them. */
  async close(): Promise<void> {
    this.#closed = true
    await this.#opening?.catch(() => {})
    const slots = this.#slots
    this.#slots = undefined
    for (const w of this.#queue.splice(0)) w.reject(closedError())
    await Promise.all((slots ?? []).map(s => s.producer.close(true).catch(() => {})))
  }
}

const staleError = () =>
  new OfferstreamError(ErrorCodes.KAFKA_FAILED, "the instance's relay producers were re-initialised since this relay opened", {
    retryable: true,
  })

const closedError = () => new OfferstreamError(ErrorCodes.KAFKA_FAILED, "the instance's relay producers are closed", { retryable: true })
