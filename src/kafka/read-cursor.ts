import { type Consumer, FetchIsolationLevels } from '@platformatic/kafka'
import { decodeCursor, type RelayCursor } from './relay-cursor.ts'

// Record batch attribute bits (Kafka protocol): transactional and control batches.
const TRANSACTIONAL = 0x10
const CONTROL = 0x20
const WINDOW = 4000n

interface Batch {
  firstOffset: bigint
  lastOffsetDelta: number
  attributes: number
  producerId: bigint
  records: Array<{ key: Buffer | null; value: Buffer | null }>
}

/**
 * The last committed cursor for `owner` in the state topic, or null when there is none.
 *
 * Must be called after the transactional producer is initialised: that fences the previous
 * incarnation and completes or aborts its open transaction, so every transaction in the log is
 * decided. The log is then read raw and each transaction's records are kept or dropped by its own
 * commit/abort marker. That is read_committed done by hand, but with a definite end (the high
 * watermark) instead of "no more messages arrived for a while".
 */
export async function readCursor(
  consumer: Consumer<Buffer, Buffer, Buffer, Buffer>,
  topic: string,
  owner: string,
): Promise<RelayCursor | null> {
  return (await readCursors(consumer, topic, [owner])).get(owner) ?? null
}

/** The last committed cursor of each owner found, in one pass over the state topic. */
export async function readCursors(
  consumer: Consumer<Buffer, Buffer, Buffer, Buffer>,
  topic: string,
  owners: string[],
): Promise<Map<string, RelayCursor>> {
  const metadata = await consumer.metadata({ topics: [topic], forceUpdate: true })
  const t = metadata.topics.get(topic)
  if (!t) throw new Error(`state topic ${topic} does not exist`)
  const leader = t.partitions[0]!.leader
  const probe = await fetchFrom(consumer, leader, t.id, 0n)
  const end = probe.highWatermark
  const logStart = probe.logStartOffset
  let from = end - WINDOW > logStart ? end - WINDOW : logStart
  for (;;) {
    const found = await scan(consumer, leader, t.id, from, end, new Set(owners))
    if (found.size === owners.length || from === logStart) return found
    from = logStart
  }
}

async function scan(
  consumer: Consumer<Buffer, Buffer, Buffer, Buffer>,
  leader: number,
  topicId: string,
  from: bigint,
  end: bigint,
  owners: Set<string>,
): Promise<Map<string, RelayCursor>> {
  // Per producer id: the cursors of its open transaction, decided by its next control record.
  const pending = new Map<bigint, Map<string, RelayCursor>>()
  const latest = new Map<string, RelayCursor>()
  let offset = from
  while (offset < end) {
    const p = await fetchFrom(consumer, leader, topicId, offset)
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
        if (committed && open) for (const [owner, c] of open) latest.set(owner, c)
        pending.delete(b.producerId)
        continue
      }
      for (const r of b.records) {
        const owner = r.key?.toString('utf8')
        if (owner === undefined || !owners.has(owner)) continue
        const c = decodeCursor(r.value)
        if (!c) continue
        if (b.attributes & TRANSACTIONAL) {
          const open = pending.get(b.producerId) ?? new Map<string, RelayCursor>()
          open.set(owner, c)
          pending.set(b.producerId, open)
        } else latest.set(owner, c)
      }
    }
  }
  return latest
}

async function fetchFrom(consumer: Consumer<Buffer, Buffer, Buffer, Buffer>, node: number, topicId: string, offset: bigint) {
  const response = await consumer.fetch({
    node,
    isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED,
    maxWaitTime: 0,
    minBytes: 0,
    maxBytes: 4 * 1024 * 1024,
    topics: [
      {
        topicId,
        partitions: [
          { partition: 0, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, partitionMaxBytes: 4 * 1024 * 1024 },
        ],
      },
    ],
  })
  const partition = response.responses[0]?.partitions[0]
  if (!partition) throw new Error('empty fetch response for the state topic')
  if (partition.errorCode !== 0) throw new Error(`fetch of the state topic failed with Kafka error code ${partition.errorCode}`)
  return partition
}
