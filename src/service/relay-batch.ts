import type { Config } from '../config/settings.ts'
import { dlqHeaders } from '../core/dlq-headers.ts'
import { pushMessageAround } from '../core/push-message.ts'
import type { OutMessage } from '../kafka/output-producer.ts'
import type { CursorEvent, RelayCursor } from '../kafka/relay-cursor.ts'
import { type RangeRows, UUID_TEXT } from '../pg/sql/relay-fanouts.ts'
import type { RelayStore } from './ports.ts'

// Fan-out ranges read per batch; a batch that hits it may leave more behind.
const FANOUTS_PER_READ = 64

export interface RelayBatch {
  /** The cursor this batch starts after. */
  from: RelayCursor
  /** The cursor after this batch: what its transaction commits. */
  to: RelayCursor
  messages: OutMessage[]
  /** The events whose rows are among the pushes: recorded with the cursor. */
  events: CursorEvent[]
  /** How many of the messages are pushes (the rest are DLQ records). */
  pushed: number
  /** Everything committed when it was read is in it: after it, only a wake brings more. */
  drained: boolean
  /** When the campaign of each fan-out range this batch finishes became due (ms): the latency histogram's input. */
  rangesDone: number[]
}

/** Reads up to relayBatch committed pushes (then rejects, if asked) after `from` and builds their messages. */
export async function readRelayBatch(
  store: RelayStore,
  config: Pick<Config, 'relayBatch' | 'outputTopic' | 'dlqTopic' | 'feedbackTopic' | 'feedbackDlqTopic'>,
  from: RelayCursor,
  /** False when no reject can have been stored since the last read that included them. */
  withRejects = true,
): Promise<RelayBatch> {
  const messages: OutMessage[] = []
  let push = from.push
  let dlq = from.dlq
  const fanouts = await store.fanoutsAfter(push, FANOUTS_PER_READ, config.relayBatch)
  const rangesDone: number[] = []
  const events = new Map<string, CursorEvent>()
  for (const f of fanouts) {
    if (messages.length >= config.relayBatch) break
    const { topic, partition, offset } = f.source
    events.set(`${topic}\u0000${partition}\u0000${offset}`, {
      campaignId: f.campaign.campaignId,
      trigger: f.trigger,
      topic,
      partition,
      offset,
    })
    const want = config.relayBatch - messages.length
    // Rows read with the ranges were read after the same cursor and fit in the budget.
    const rows = f.rows ?? (await store.feedbackClients(f.campaign.campaignId, Math.max(push, f.firstId - 1), f.lastId, want))
    pushMessages(messages, config.outputTopic, pushMessageAround(f.campaign, f.trigger), rows)
    // Fewer rows than asked means the range is exhausted (ids deleted by hand leave gaps).
    push = rows.count < want ? f.lastId : rows.lastId
    if (push === f.lastId && f.dueAtMs !== undefined) rangesDone.push(f.dueAtMs)
  }
  const pushed = messages.length
  if (withRejects && messages.length < config.relayBatch) {
    const rejects = await store.rejectsAfter(dlq, config.relayBatch - messages.length)
    for (const r of rejects) {
      // Each input has its own dead-letter topic.
      const topic = r.topic === config.feedbackTopic ? config.feedbackDlqTopic : config.dlqTopic
      messages.push({ topic, key: r.key, value: r.value, headers: dlqHeaders({ code: r.code, reason: r.reason }, r) })
      dlq = r.id
    }
  }
  // Short of the message budget and of the range limit: every pending range was read to its end,
  // and fewer rejects came back than were asked for.
  const drained = messages.length < config.relayBatch && fanouts.length < FANOUTS_PER_READ
  return { from, to: { push, dlq }, messages, events: [...events.values()], pushed, drained, rangesDone }
}

/**
 * Appends one push per row: key the client id, value head + client id + tail, all of the range's
 * bytes in one buffer that the keys and values are views of. A string per push, sized by the slicer
 * and encoded by the client's serializer, was ~7 % of the service's profile plus its garbage
 * (docs/scaling.md, "Service CPU per push"); the record encoder copies from these views as from any Buffer.
 */
function pushMessages(out: OutMessage[], topic: string, around: { head: string; tail: string }, rows: RangeRows): void {
  const n = rows.count
  if (n === 0) return
  const head = Buffer.from(around.head)
  const tail = Buffer.from(around.tail)
  const valueBytes = head.length + UUID_TEXT + tail.length
  const keysBytes = n * UUID_TEXT
  // Keys first (client ids are ASCII, so one latin1 write of the whole string), then the values.
  const buf = Buffer.allocUnsafeSlow(keysBytes + n * valueBytes)
  buf.write(rows.clients, 0, keysBytes, 'latin1')
  const ab = buf.buffer
  let v = keysBytes
  for (let k = 0; k < keysBytes; k += UUID_TEXT) {
    buf.set(head, v)
    buf.copyWithin(v + head.length, k, k + UUID_TEXT)
    buf.set(tail, v + head.length + UUID_TEXT)
    out.push({ topic, key: Buffer.from(ab, k, UUID_TEXT), value: Buffer.from(ab, v, valueBytes) })
    v += valueBytes
  }
}

export function isEmpty(b: RelayBatch): boolean {
  return b.to.push === b.from.push && b.to.dlq === b.from.dlq
}
