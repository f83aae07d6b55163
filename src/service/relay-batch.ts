import type pg from 'pg'
import type { Config } from '../config/settings.ts'
import { dlqHeaders } from '../core/dlq-headers.ts'
import { pushMessage, pushMessagePrefix, pushMessageSuffix } from '../core/push-message.ts'
import type { OutMessage } from '../kafka/output-producer.ts'
import type { RelayCursor } from '../kafka/relay-cursor.ts'
import { feedbackClients } from '../pg/sql/feedback-clients.ts'
import { relayFanouts } from '../pg/sql/relay-fanouts.ts'
import { relayRejects } from '../pg/sql/relay-rejects.ts'

export interface RelayBatch {
  /** The cursor this batch starts after. */
  from: RelayCursor
  /** The cursor after this batch: what its transaction commits. */
  to: RelayCursor
  messages: OutMessage[]
  /** How many of the messages are pushes (the rest are DLQ records). */
  pushed: number
}

/** Reads up to relayBatch committed pushes (then rejects) after `from` and builds their messages. */
export async function readRelayBatch(pool: pg.Pool, config: Config, from: RelayCursor): Promise<RelayBatch> {
  const messages: OutMessage[] = []
  let push = from.push
  let dlq = from.dlq
  const fanouts = await relayFanouts(pool, push, 64)
  for (const f of fanouts) {
    if (messages.length >= config.relayBatch) break
    const prefix = pushMessagePrefix(f.campaign)
    const suffix = pushMessageSuffix(f.campaign, f.trigger)
    const want = config.relayBatch - messages.length
    const rows = await feedbackClients(pool, f.campaign.campaignId, Math.max(push, f.firstId - 1), f.lastId, want)
    for (let i = 0; i < rows.ids.length; i++) {
      const clientId = rows.clients[i]!
      messages.push({ topic: config.outputTopic, key: clientId, value: pushMessage(prefix, clientId, suffix) })
    }
    // Fewer rows than asked means the range is exhausted (ids deleted by hand leave gaps).
    push = rows.ids.length < want ? f.lastId : rows.ids[rows.ids.length - 1]!
  }
  const pushed = messages.length
  if (messages.length < config.relayBatch) {
    const rejects = await relayRejects(pool, dlq, config.relayBatch - messages.length)
    for (const r of rejects) {
      // Each input has its own dead-letter topic.
      const topic = r.topic === config.feedbackTopic ? config.feedbackDlqTopic : config.dlqTopic
      messages.push({ topic, key: r.key, value: r.value, headers: dlqHeaders({ code: r.code, reason: r.reason }, r) })
      dlq = r.id
    }
  }
  return { from, to: { push, dlq }, messages, pushed }
}

export function isEmpty(b: RelayBatch): boolean {
  return b.to.push === b.from.push && b.to.dlq === b.from.dlq
}
