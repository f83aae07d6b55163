import { Consumer, type MessagesStream } from '@platformatic/kafka'
import type { Config } from '../config/settings.ts'
import { groupTimings, kafkaBaseOptions } from './client-options.ts'
import { translateKafkaError } from './kafka-errors.ts'

interface ShardAssignment {
  /** The consumer-group generation that handed the shards out; it only grows while the group exists. */
  generation: number
  shards: number[]
}

export interface MembershipEvents {
  /** A join completed: these are now all the shards this instance owns (possibly none). */
  onAssignment: (a: ShardAssignment) => void
  /** The coordinator accepted a heartbeat of this generation: the assignment is still current. */
  onHeartbeat: (generation: number) => void
  /** The client gave up (e.g. rejoin retries spent); the caller rebuilds the membership. */
  onFailure: (error: Error) => void
}

/**
 * Which shards this instance owns, from Kafka's consumer group: the shard topic has one partition
 * per shard and carries no records; its partitions are handed out by the group coordinator, with
 * the cooperative-sticky assignor so a join or leave moves only the shards it has to. Static
 * membership (OFFERSTREAM_GROUP_INSTANCE_ID) lets a restarted instance take its shards straight back.
 */
export class ShardMembership {
  #consumer: Consumer<Buffer, Buffer, Buffer, Buffer>
  #stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined
  #config: Config
  #events: MembershipEvents

  constructor(config: Config, events: MembershipEvents) {
    this.#config = config
    this.#events = events
    this.#consumer = new Consumer({
      ...kafkaBaseOptions(config, 'shards'),
      groupId: `${config.groupId}-shards`,
      ...(config.groupInstanceId ? { groupInstanceId: config.groupInstanceId } : {}),
      ...groupTimings(config),
      protocols: [{ name: 'cooperative-sticky', version: 1 }],
    })
  }

  async start(): Promise<void> {
    const topic = this.#config.shardTopic
    this.#consumer.on('consumer:group:join', (p: { generationId: number; assignments: Array<{ topic: string; partitions: number[] }> }) => {
      const shards = p.assignments.filter(a => a.topic === topic).flatMap(a => a.partitions)
      this.#events.onAssignment({ generation: p.generationId, shards: shards.sort((a, b) => a - b) })
    })
    this.#consumer.on('consumer:group:leave', () => this.#events.onAssignment({ generation: -1, shards: [] }))
    this.#consumer.on('consumer:heartbeat:end', (p?: { generationId?: number }) => {
      if (p?.generationId !== undefined) this.#events.onHeartbeat(p.generationId)
    })
    this.#consumer.on('error', (error: Error) => this.#events.onFailure(translateKafkaError(error)))
    try {
      // The stream only keeps the membership alive: the topic never has records.
      this.#stream = await this.#consumer.consume({ topics: [topic], mode: 'latest', autocommit: false, maxWaitTime: 5000 })
    } catch (error) {
      throw translateKafkaError(error)
    }
    this.#stream.on('data', () => {})
    this.#stream.on('error', (error: Error) => this.#events.onFailure(translateKafkaError(error)))
  }

  async close(): Promise<void> {
    await this.#stream?.close().catch(() => {})
    await this.#consumer.close(true).catch(() => {})
  }
}
