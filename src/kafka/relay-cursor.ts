// Where the relay stands: the last subscribers_feedback id and the last offerstream_rejects id it
// has published. Written as one record in every output transaction, so it commits or aborts with
// the messages it describes.
export interface RelayCursor {
  push: number
  dlq: number
}

/**
 * An event whose fan-out rows a transaction published, with the input position it was stored
 * under. After a PostgreSQL failover that lost the event, the repair recreates it under the same
 * position (so its redelivery stays a no-op) from these and the push_message records
 * (src/service/regression-repair.ts). Cursors written before this field simply lack it.
 */
export interface CursorEvent {
  campaignId: string
  trigger: number
  topic: string
  partition: number
  offset: string
}

export const START_CURSOR: RelayCursor = { push: 0, dlq: 0 }

export function encodeCursor(c: RelayCursor, events: CursorEvent[] = []): string {
  if (events.length === 0) return JSON.stringify({ push: c.push, dlq: c.dlq })
  const ev = events.map(e => [e.campaignId, e.trigger, e.topic, e.partition, e.offset])
  return JSON.stringify({ push: c.push, dlq: c.dlq, ev })
}

export function decodeCursor(value: Buffer | null): RelayCursor | null {
  const r = decodeCursorRecord(value)
  return r && { push: r.push, dlq: r.dlq }
}

/** The cursor and the events its transaction published (empty for a cursor of an older version). */
export function decodeCursorRecord(value: Buffer | null): (RelayCursor & { events: CursorEvent[] }) | null {
  if (!value) return null
  try {
    const v = JSON.parse(value.toString('utf8'))
    if (!Number.isSafeInteger(v?.push) || !Number.isSafeInteger(v?.dlq)) return null
    const events: CursorEvent[] = []
    for (const e of Array.isArray(v.ev) ? v.ev : []) {
      if (!Array.isArray(e) || e.length !== 5) continue
      const [campaignId, trigger, topic, partition, offset] = e
      if (typeof campaignId !== 'string' || !Number.isSafeInteger(trigger) || typeof topic !== 'string') continue
      if (!Number.isInteger(partition) || typeof offset !== 'string') continue
      events.push({ campaignId, trigger, topic, partition, offset })
    }
    return { push: v.push, dlq: v.dlq, events }
  } catch {}
  return null
}
