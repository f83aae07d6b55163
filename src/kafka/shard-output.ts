import { Consumer } from '@platformatic/kafka'
import type { Config } from '../config/settings.ts'
import { kafkaBaseOptions } from './client-options.ts'
import type { InstanceProducer } from './instance-producer.ts'
import { translateKafkaError } from './kafka-errors.ts'
import type { OutMessage } from './output-producer.ts'
import { readCursor } from './read-cursor.ts'
import { type CursorEvent, type RelayCursor, START_CURSOR } from './relay-cursor.ts'

export interface ShardOutputDeps {
  /** Fences the shard's previous owners (once per taking of the shard): must have run before its cursor is read. */
  fencePrevious(): Promise<void>
  /** Throws SHARD_LOST when the shard is no longer this instance's. */
  checkOwner(): Promise<void>
  /** The cursor to start from when the shard has none yet (a deployment upgraded from one relay). */
  before?: () => Promise<RelayCursor | null>
}

/**
 * A shard relay's view of the instance's producer (the relay's Output). open() fences the shard's
 * previous owners, takes the producer's current incarnation, checks that the shard is still ours
 * (after that initialisation: see InstanceProducer) and only then reads the shard's committed cursor.
 * Every publish goes out under that incarnation or not at all.
 */
export class ShardOutput {
  #producer: InstanceProducer
  #config: Config
  #cursorKey: string
  #d: ShardOutputDeps
  #incarnation = 0
  /** Whether open() returned the cursor of `before` (the shard had none of its own yet). */
  inherited = false

  /** cursorKey: the key of the shard's cursor records in the state topic (shardTransactionalId). */
  constructor(producer: InstanceProducer, config: Config, cursorKey: string, deps: ShardOutputDeps) {
    this.#producer = producer
    this.#config = config
    this.#cursorKey = cursorKey
    this.#d = deps
  }

  get transactionsV2(): boolean {
    return this.#producer.transactionsV2
  }

  async open(): Promise<RelayCursor> {
    await this.#d.fencePrevious()
    this.#incarnation = await this.#producer.ready()
    await this.#d.checkOwner()
    const reader = new Consumer({ ...kafkaBaseOptions(this.#config, 'cursor-reader'), groupId: `${this.#config.groupId}-cursor-reader` })
    try {
      const cursor = await readCursor(reader, this.#config.stateTopic, this.#cursorKey)
      this.inherited = cursor === null
      return cursor ?? (await this.#d.before?.()) ?? START_CURSOR
    } catch (error) {
      throw translateKafkaError(error)
    } finally {
      await reader.close(true).catch(() => {})
    }
  }

  publish(messages: OutMessage[], cursor: RelayCursor, events?: CursorEvent[]): Promise<void> {
    return this.#producer.publish(this.#incarnation, this.#cursorKey, messages, cursor, events)
  }

  /** The producer is the instance's: it stays open, and a transaction already sent still commits or fails as a whole. */
  async close(): Promise<void> {}
}
