import type { Config } from '../config/settings.ts'
import { stateAt } from '../core/activity.ts'
import { decodeEvent } from '../core/decode-event.ts'
import { rejectShard, shardOf } from '../core/shard.ts'
import type { InputRecord } from '../kafka/input-source.ts'
import type { CancelRow, EventRow } from '../pg/sql/insert-events.ts'
import type { RejectRow } from '../pg/sql/insert-rejects.ts'

export interface Classified {
  events: EventRow[]
  cancels: CancelRow[]
  rejects: RejectRow[]
}

/** Decides, for each input record, what to store: a campaign with its state, a cancel, or a rejection. */
export function classifyBatch(
  batch: InputRecord[],
  config: Pick<Config, 'maxEventBytes' | 'activeMarginSeconds' | 'shards'>,
  nowSeconds: number,
): Classified {
  const events: EventRow[] = []
  const cancels: CancelRow[] = []
  const rejects: RejectRow[] = []
  for (const r of batch) {
    const position = { topic: r.topic, partition: r.partition, offset: r.offset.toString() }
    const decoded = decodeEvent(r.value, { maxBytes: config.maxEventBytes, recordTimestampMs: r.timestampMs })
    if (!decoded.ok) {
      rejects.push({
        ...position,
        key: r.key,
        value: r.value,
        rejection: decoded.rejection,
        shard: rejectShard(r.partition, config.shards),
      })
      continue
    }
    // The bytes stay with the record: the store may find it names another restaurant than its campaign's.
    if ('cancel' in decoded) {
      cancels.push({ ...position, key: r.key, value: r.value, cancel: decoded.cancel })
      continue
    }
    const c = decoded.campaign
    const status = stateAt(c.start, c.end, nowSeconds, config.activeMarginSeconds)
    events.push({
      ...position,
      key: r.key,
      value: r.value,
      campaign: c,
      status,
      trigger: status === 'fanning' ? nowSeconds : null,
      shard: shardOf(c.campaignId, config.shards),
    })
  }
  return { events, cancels, rejects }
}
