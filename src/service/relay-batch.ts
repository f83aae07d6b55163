import type { Config } from '../config/settings.ts'
import { dlqHeaders } from '../core/dlq-headers.ts'
import { pushMessage, pushMessagePrefix, pushMessageSuffix } from '../core/push-message.ts'
import type { OutMessage } from '../kafka/output-producer.ts'
import type { CursorEvent, RelayCursor } from '../kafka/relay-cursor.ts'
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
    const prefix = pushMessagePrefix(f.campaign)
    const suffix = pushMessageSuffix(f.campaign, f.trigger)
    const want = config.relayBatch - messages.length
    // Rows read with the ranges were read after the same cursor and fit in the budget.
    const rows = f.rows ?? (await store.feedbackClients(f.campaign.campaignId, Math.max(push, f.firstId - 1), f.lastId, want))
    for (let i = 0; i < rows.ids.length; i++) {
      const clientId = rows.clients[i]!
      messages.push({ topic: config.outputTopic, key: clientId, value: pushMessage(prefix, clientId, suffix) })
    }
    // Fewer rows than asked means the range is exhausted (ids deleted by hand leave gaps).
    push = rows.ids.length < want ? f.lastId : rows.ids[rows.ids.length - 1]!
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

export function isEmpty(b: RelayBatch): boolean {
  return b.to.push === b.from.push && b.to.dlq === b.from.dlq
}
