import { type Consumer, FetchIsolationLevels } from '@platformatic/kafka'

// Record batch attribute bits (Kafka protocol): transactional and control batches.
const TRANSACTIONAL = 0x10
const CONTROL = 0x20
const FETCH_BYTES = 8 * 1024 * 1024

export interface CommittedRecord {
  partition: number
  offset: bigint
  /** The batch's first timestamp (CreateTime, ms): when the producer built it. */
  timestampMs: number
  key: Buffer | null
  value: Buffer | null
  headers: Array<[Buffer | null, Buffer | null]>
}

interface Batch {
  firstOffset: bigint
  lastOffsetDelta: number
  firstTimestamp: bigint
  attributes: number
  producerId: bigint
  records: Array<{ offsetDelta: number; key: Buffer | null; value: Buffer | null; headers: Array<[Buffer | null, Buffer | null]> }>
}

/**
 * Reads one partition from `from` up to `end` (its high watermark, read before), read_committed done
 * by hand as read-cursor.ts does for the state topic: each transaction's records are kept or dropped
 * by its own commit/abort marker, and the read has a definite end. A transaction still open at the
 * end is left out. Records come back in offset order of their commit markers.
 */
export async function readCommitted(
  consumer: Consumer<Buffer, Buffer, Buffer, Buffer>,
  t: { topicId: string; partition: number; leader: number },
  from: bigint,
  end: bigint,
  onRecord: (r: CommittedRecord) => void,
): Promise<void> {
  const pending = new Map<bigint, CommittedRecord[]>()
  let offset = from
  while (offset < end) {
    const p = await fetchFrom(consumer, t, offset)
    const batches = (p.records ?? []) as Batch[]
    if (batches.length === 0) break
    for (const b of batches) {
      const next = b.firstOffset + BigInt(b.lastOffsetDelta) + 1n
      if (next <= offset) continue
      offset = next
      if (b.attributes & CONTROL) {
        const key = b.records[0]?.key
        const committed = key !== null && key !== undefined && key.length >= 4 && key.readInt16BE(2) === 1
        const open = pending.get(b.producerId)
        if (committed && open) for (const r of open) onRecord(r)
        pending.delete(b.producerId)
        continue
      }
      for (const r of b.records) {
        const at = b.firstOffset + BigInt(r.offsetDelta)
        if (at < from || at >= end) continue
        const record: CommittedRecord = {
          partition: t.partition,
          offset: at,
          timestampMs: Number(b.firstTimestamp),
          key: r.key,
          value: r.value,
          headers: r.headers,
        }
        if (b.attributes & TRANSACTIONAL) {
          const open = pending.get(b.producerId) ?? []
          open.push(record)
          pending.set(b.producerId, open)
        } else onRecord(record)
      }
    }
  }
}

async function fetchFrom(
  consumer: Consumer<Buffer, Buffer, Buffer, Buffer>,
  t: { topicId: string; partition: number; leader: number },
  offset: bigint,
) {
  const response = await consumer.fetch({
    node: t.leader,
    isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED,
    maxWaitTime: 0,
    minBytes: 0,
    maxBytes: FETCH_BYTES,
    topics: [
      {
        topicId: t.topicId,
        partitions: [
          { partition: t.partition, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, partitionMaxBytes: FETCH_BYTES },
        ],
      },
    ],
  })
  const partition = response.responses[0]?.partitions[0]
  if (!partition) throw new Error(`empty fetch response for partition ${t.partition}`)
  if (partition.errorCode !== 0) throw new Error(`fetch of partition ${t.partition} failed with Kafka error code ${partition.errorCode}`)
  return partition
}

/** Each partition's leader, for readCommitted. */
export async function partitionsOf(
  consumer: Consumer<Buffer, Buffer, Buffer, Buffer>,
  topic: string,
): Promise<Array<{ topicId: string; partition: number; leader: number }>> {
  const metadata = await consumer.metadata({ topics: [topic], forceUpdate: true })
  const t = metadata.topics.get(topic)
  if (!t) throw new Error(`topic ${topic} does not exist`)
  return t.partitions.map((p, partition) => ({ topicId: t.id, partition, leader: p.leader }))
}
