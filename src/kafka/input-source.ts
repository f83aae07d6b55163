import { Consumer, FetchIsolationLevels, type Message, type MessagesStream } from '@platformatic/kafka'
import type { Config } from '../config/settings.ts'
import { groupTimings, kafkaBaseOptions } from './client-options.ts'
import { translateKafkaError } from './kafka-errors.ts'

export interface InputRecord {
  topic: string
  partition: number
  offset: bigint
  leaderEpoch: number
  timestampMs: number
  key: Buffer | null
  value: Buffer | null
}

// Above this many buffered records, or bytes of keys and values, the stream is paused, which bounds
// memory when PostgreSQL is slower than the input. The byte limit matters for big events: 5,000 of
// the largest accepted (OFFERSTREAM_MAX_EVENT_BYTES, 64 KB) would be 320 MB.
const HIGH_WATER = 5000
const HIGH_WATER_BYTES = 16 * 1024 * 1024

/**
 * The restaurant_actions consumer. Records are buffered and handed out in batches; offsets are
 * committed only after the batch is durable in PostgreSQL (where redelivery is a no-op), so a crash
 * replays at most the uncommitted tail.
 */
export class InputSource {
  #consumer: Consumer<Buffer, Buffer, Buffer, Buffer>
  #stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined
  #buffer: InputRecord[] = []
  #bufferedBytes = 0
  #wake: (() => void) | undefined
  #failure: Error | undefined
  #config: Config

  constructor(config: Config) {
    this.#config = config
    this.#consumer = new Consumer({
      ...kafkaBaseOptions(config, 'input'),
      groupId: config.groupId,
      // Static membership: a restarted instance rejoins as the same member instead of waiting for the
      // dead one's session to expire and a rebalance.
      ...(config.groupInstanceId ? { groupInstanceId: config.groupInstanceId } : {}),
      ...groupTimings(config),
    })
  }

  async start(): Promise<void> {
    // The client reports failures it gave up on (e.g. joinGroup retries spent) as 'error' events;
    // unhandled they would kill the process. The writer sees them through take() and rebuilds.
    this.#consumer.on('error', (error: Error) => {
      this.#failure = translateKafkaError(error)
      this.#signal()
    })
    try {
      this.#stream = await this.#consumer.consume({
        topics: [this.#config.inputTopic],
        mode: 'committed',
        fallbackMode: 'earliest',
        autocommit: false,
        isolationLevel: FetchIsolationLevels.READ_COMMITTED,
        maxWaitTime: this.#config.inputFetchWaitMs,
      })
    } catch (error) {
      throw translateKafkaError(error)
    }
    this.#stream.on('data', (m: Message<Buffer, Buffer, Buffer, Buffer>) => {
      this.#bufferedBytes += sizeOf(m.key) + sizeOf(m.value)
      this.#buffer.push({
        topic: m.topic,
        partition: m.partition,
        offset: m.offset,
        leaderEpoch: m.leaderEpoch,
        timestampMs: Number(m.timestamp),
        key: m.key ?? null,
        value: m.value ?? null,
      })
      if (this.#buffer.length >= HIGH_WATER || this.#bufferedBytes >= HIGH_WATER_BYTES) this.#stream?.pause()
      this.#signal()
    })
    this.#stream.on('error', (error: Error) => {
      this.#failure = translateKafkaError(error)
      this.#signal()
    })
  }

  #signal(): void {
    const wake = this.#wake
    this.#wake = undefined
    wake?.()
  }

  /** Up to max buffered records, or [] when none arrives within waitMs. Throws if the stream failed. */
  async take(max: number, waitMs: number): Promise<InputRecord[]> {
    if (this.#failure) throw this.#failure
    if (this.#buffer.length === 0 && waitMs > 0) {
      await new Promise<void>(resolve => {
        const timer = setTimeout(() => {
          this.#wake = undefined
          resolve()
        }, waitMs)
        this.#wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      if (this.#failure) throw this.#failure
    }
    const batch = this.#buffer.splice(0, max)
    for (const r of batch) this.#bufferedBytes -= sizeOf(r.key) + sizeOf(r.value)
    if (this.#buffer.length < HIGH_WATER / 2 && this.#bufferedBytes < HIGH_WATER_BYTES / 2 && this.#stream?.isPaused())
      this.#stream.resume()
    return batch
  }

  /** Wakes a pending take() early, e.g. to let the writer do other work or stop. */
  interrupt(): void {
    this.#signal()
  }

  /** Commits the position after the last record of each partition in the batch. */
  async commit(batch: InputRecord[]): Promise<void> {
    const last = new Map<string, InputRecord>()
    for (const r of batch) {
      const k = `${r.topic}\u0000${r.partition}`
      const prev = last.get(k)
      if (!prev || prev.offset < r.offset) last.set(k, r)
    }
    if (last.size === 0) return
    try {
      await this.#consumer.commit({
        offsets: [...last.values()].map(r => ({
          topic: r.topic,
          partition: r.partition,
          offset: r.offset + 1n,
          leaderEpoch: r.leaderEpoch,
        })),
      })
    } catch (error) {
      throw translateKafkaError(error)
    }
  }

  /**
   * Consumer lag of the partitions this instance consumes: the input topic's last stable offset minus
   * the group's committed offset (what an external lag exporter would report), for /metrics.
   */
  async lag(): Promise<Map<number, bigint>> {
    const topic = this.#config.inputTopic
    const partitions = this.#consumer.assignments?.find(a => a.topic === topic)?.partitions ?? []
    if (partitions.length === 0) return new Map()
    const [ends, commits] = await Promise.all([
      this.#consumer.listOffsets({
        topics: [topic],
        partitions: { [topic]: partitions },
        isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      }),
      this.#consumer.listCommittedOffsets({ topics: [{ topic, partitions }] }),
    ])
    const end = ends.get(topic) ?? []
    const committed = commits.get(topic) ?? []
    const lag = new Map<number, bigint>()
    for (const p of partitions) {
      const e = end[p]
      if (e === undefined || e < 0n) continue
      const c = committed[p] ?? -1n
      lag.set(p, c < 0n ? e : e > c ? e - c : 0n)
    }
    return lag
  }

  async close(): Promise<void> {
    this.#signal()
    await this.#stream?.close().catch(() => {})
    await this.#consumer.close(true).catch(() => {})
  }
}

const sizeOf = (b: Buffer | null | undefined) => b?.length ?? 0
