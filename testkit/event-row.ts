import { randomUUID } from 'node:crypto'
import type { RuledState } from '../src/core/campaign-state.ts'
import type { EventRow } from '../src/pg/sql/insert-events.ts'
import type { RejectRow } from '../src/pg/sql/insert-rejects.ts'

/**
 * An accepted campaign record as the ingest stage hands it to the store: a fresh campaign of a fresh
 * restaurant, running from `start` for an hour past `now`, at the next offset of `topic` partition 0.
 * Tests of the PostgreSQL stores build their batches from these.
 */
export function eventRows(topic: string, now: number) {
  let offset = 0
  return {
    event: (shard: number, status: RuledState, start = now - 60): EventRow => ({
      topic,
      partition: 0,
      offset: String(offset++),
      campaign: {
        restaurantId: randomUUID(),
        campaignId: randomUUID(),
        content: 'x',
        owner: null,
        ownerContact: null,
        created: now,
        start,
        end: now + 3600,
      },
      status,
      trigger: status === 'fanning' ? now : null,
      shard,
    }),
    /** The next offset of the same topic, for a record of another kind. */
    nextOffset: () => String(offset++),
    /** A record of the same topic that is not JSON, at its next offset (partition 1), for the DLQ of `shard`. */
    reject: (shard: number): RejectRow => ({
      topic,
      partition: 1,
      offset: String(offset++),
      key: null,
      value: Buffer.from('nope'),
      rejection: { code: 'not_json', reason: 'not JSON' },
      shard,
    }),
  }
}
