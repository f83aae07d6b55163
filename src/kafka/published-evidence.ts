import { Consumer, FetchIsolationLevels } from '@platformatic/kafka'
import type { Config } from '../config/settings.ts'
import { rejectShard, shardOf } from '../core/shard.ts'
import { kafkaBaseOptions } from './client-options.ts'
import { partitionsOf, readCommitted } from './committed-log.ts'
import { translateKafkaError } from './kafka-errors.ts'
import { shardTransactionalId } from './output-producer.ts'
import { type CursorEvent, decodeCursorRecord, type RelayCursor } from './relay-cursor.ts'

// What Kafka holds of the relays' committed work, read back for a failover repair
// (src/service/regression-repair.ts): the cursor records of a shard in order, and the push_message
// and DLQ records published since a moment.

export interface CursorEntry extends RelayCursor {
  offset: bigint
  timestampMs: number
  events: CursorEvent[]
}

/** A push_message record: the fields of its subscribers_feedback row. */
export interface PublishedPush {
  restaurantId: string
  campaignId: string
  content: string
  owner: string | null
  ownerContact: string | null
  start: number
  end: number
  created: number
  clientId: string
  trigger: number
}

export interface PublishedReject {
  topic: string
  partition: number
  offset: string
  key: Buffer | null
  value: Buffer | null
  code: string
  reason: string
}

export interface Published {
  pushes: PublishedPush[]
  rejects: PublishedReject[]
  /** Partitions whose records from `sinceMs` on may be gone (past retention): repair cannot be complete. */
  gaps: string[]
}

type Reader = Consumer<Buffer, Buffer, Buffer, Buffer>
const reader = (config: Config) =>
  new Consumer({ ...kafkaBaseOptions(config, 'failover-repair'), groupId: `${config.groupId}-failover-repair` }) as Reader

async function ends(
  c: Reader,
  topic: string,
  timestamp: bigint,
  isolationLevel = FetchIsolationLevels.READ_UNCOMMITTED,
): Promise<bigint[]> {
  const offsets = await c.listOffsets({ topics: [topic], timestamp, isolationLevel })
  return offsets.get(topic) ?? []
}

/**
 * Every committed cursor record of each shard's relay, oldest first, as far back as needed: the
 * scan widens until each shard has a record at or below `atOrBelow` (its PostgreSQL position), or
 * the whole topic was read.
 */
export async function cursorHistory(config: Config, atOrBelow: Map<number, RelayCursor>): Promise<Map<number, CursorEntry[]>> {
  const c = reader(config)
  try {
    const [t] = await partitionsOf(c, config.stateTopic)
    const start = (await ends(c, config.stateTopic, -2n))[0] ?? 0n
    const end = (await ends(c, config.stateTopic, -1n))[0] ?? 0n
    const owners = new Map([...atOrBelow.keys()].map(shard => [shardTransactionalId(config, shard), shard]))
    for (let window = 20_000n; ; window *= 8n) {
      const from = end - window > start ? end - window : start
      const found = new Map<number, CursorEntry[]>([...atOrBelow.keys()].map(s => [s, []]))
      await readCommitted(c, t!, from, end, r => {
        const shard = owners.get(r.key?.toString('utf8') ?? '')
        const cursor = shard === undefined ? null : decodeCursorRecord(r.value)
        if (cursor) found.get(shard!)!.push({ ...cursor, offset: r.offset, timestampMs: r.timestampMs })
      })
      const covered = [...atOrBelow].every(([s, pos]) => found.get(s)!.some(e => e.push <= pos.push && e.dlq <= pos.dlq))
      if (covered || from === start) return found
    }
  } catch (error) {
    throw translateKafkaError(error)
  } finally {
    await c.close(true).catch(() => {})
  }
}

/**
 * The pushes and rejects published for `shards` since `sinceMs`, read_committed. A partition whose
 * log starts after that moment had records deleted that may be needed: named in `gaps`.
 */
export async function publishedSince(config: Config, shards: Set<number>, sinceMs: number): Promise<Published> {
  const c = reader(config)
  const out: Published = { pushes: [], rejects: [], gaps: [] }
  try {
    for (const topic of [config.outputTopic, config.dlqTopic, config.feedbackDlqTopic]) {
      const parts = await partitionsOf(c, topic)
      const since = await c.listOffsetsWithTimestamps({ topics: [topic], timestamp: BigInt(sinceMs) })
      const first = await ends(c, topic, -2n)
      const last = await ends(c, topic, -1n)
      for (const p of parts) {
        const end = last[p.partition] ?? 0n
        const logStart = first[p.partition] ?? 0n
        const at = since.get(topic)?.get(p.partition)?.offset ?? -1n
        const from = at < 0n ? end : at
        // Offsets before the log start were deleted: whatever they held from sinceMs on is unknowable.
        if (logStart > 0n && from <= logStart) out.gaps.push(`${topic}[${p.partition}] starts at offset ${logStart}`)
        await readCommitted(c, p, from, end, r => {
          if (topic === config.outputTopic) {
            const push = parsePush(r.value)
            if (push && shards.has(shardOf(push.campaignId, config.shards))) out.pushes.push(push)
            return
          }
          const h = new Map(r.headers.map(([k, v]) => [k?.toString() ?? '', v?.toString() ?? '']))
          const partition = Number(h.get('offerstream.source.partition'))
          if (!Number.isInteger(partition) || !shards.has(rejectShard(partition, config.shards))) return
          out.rejects.push({
            topic: h.get('offerstream.source.topic') ?? '',
            partition,
            offset: h.get('offerstream.source.offset') ?? '',
            key: r.key,
            value: r.value,
            code: h.get('offerstream.error.code') ?? '',
            reason: h.get('offerstream.error.reason') ?? '',
          })
        })
      }
    }
    return out
  } catch (error) {
    throw translateKafkaError(error)
  } finally {
    await c.close(true).catch(() => {})
  }
}

function parsePush(value: Buffer | null): PublishedPush | null {
  if (!value) return null
  try {
    const v = JSON.parse(value.toString('utf8'))
    return {
      restaurantId: v.restaurant_id,
      campaignId: v.adv_campaign_id,
      content: v.adv_campaign_content,
      owner: v.adv_campaign_owner ?? null,
      ownerContact: v.adv_campaign_owner_contact ?? null,
      start: v.adv_campaign_datetime_start,
      end: v.adv_campaign_datetime_end,
      created: v.datetime_created,
      clientId: v.client_id,
      trigger: v.trigger_datetime_created,
    }
  } catch {
    return null
  }
}
