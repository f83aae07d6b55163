// What the writer and the relay need from the outside world, and nothing more. The PostgreSQL and
// Kafka adapters implement these (and translate their drivers' errors into OfferstreamError); unit
// tests implement them in memory.
import type { SettableState } from '../core/campaign-state.ts'
import type { Rejection } from '../core/reject-reason.ts'
import type { InputRecord } from '../kafka/input-source.ts'
import type { OutMessage } from '../kafka/output-producer.ts'
import type { RelayCursor } from '../kafka/relay-cursor.ts'
import type { ChunkClock, ChunkResult } from '../pg/sql/fan-out-chunk.ts'
import type { FanningEvent } from '../pg/sql/fanning-events.ts'
import type { CancelRow, EventRow } from '../pg/sql/insert-events.ts'
import type { RejectRow } from '../pg/sql/insert-rejects.ts'
import type { RelayFanout } from '../pg/sql/relay-fanouts.ts'
import type { StoredReject } from '../pg/sql/relay-rejects.ts'

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
  /** Resolves after ms, or early (without throwing) when the signal aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

/** @internal also used by tests */
export interface DueCampaign {
  id: number
  /** The campaign's current version's window; null while only its cancel was seen. */
  start: number | null
  end: number | null
  cancelled: boolean
}

/** Stores input batches; any instance's ingest stage writes events and rejects of every shard. */
export interface IngestStore {
  /**
   * Events (a redelivered one is skipped), cancels and rejects; tells the shards' owners on commit.
   * Records naming another restaurant than their campaign's are rejected too (`mismatched`).
   */
  store(
    events: EventRow[],
    rejects: RejectRow[],
    cancels: CancelRow[],
  ): Promise<{ rows: Array<{ id: number; status: string }>; rejected: number; mismatched: Rejection[]; cancels: number }>
}

/**
 * One transaction of a shard's writer: it holds the shard's lock from its first statement until
 * commit and has checked that the shard is still this owner's. Everything it reads is the shard's.
 * @internal also used by tests
 */
export interface WriterTx {
  /** Pending campaigns whose start is at or before nowSeconds. */
  dueCampaigns(nowSeconds: number): Promise<DueCampaign[]>
  /** Gives the campaigns a state decided by the caller; trigger is set when given. */
  setState(ids: number[], state: SettableState, trigger: number | null): Promise<void>
  nextPendingStart(): Promise<number | null>
  /** The next fanning campaign after afterId, wrapping to the oldest; null when none is fanning. */
  nextFanning(afterId: number): Promise<FanningEvent | null>
  /** Pushes nothing (live false) when the campaign's row, locked by the chunk, says it may not push at `at`. */
  fanOutChunk(event: FanningEvent, size: number, at: ChunkClock): Promise<ChunkResult>
}

export interface WriterStore {
  /** Runs fn in one transaction under the shard's lock and epoch check (SHARD_LOST when taken over); rolled back if fn throws. */
  transaction<T>(fn: (tx: WriterTx) => Promise<T>): Promise<T>
}

/** A shard's committed rows the relay publishes; reads outside any transaction. */
export interface RelayStore {
  /** Ranges after the cursor; the leading ones whose rows fit in rowBudget may come with their rows. */
  fanoutsAfter(pushCursor: number, limit: number, rowBudget: number): Promise<RelayFanout[]>
  feedbackClients(campaignId: string, afterId: number, lastId: number, limit: number): Promise<{ ids: number[]; clients: string[] }>
  rejectsAfter(dlqCursor: number, limit: number): Promise<StoredReject[]>
}

export interface Input {
  /** Up to max records, or [] when none arrives within waitMs. */
  take(max: number, waitMs: number): Promise<InputRecord[]>
  /** Marks the batch consumed, so it is not redelivered to the next consumer. */
  commit(batch: InputRecord[]): Promise<void>
  /** Ends a pending take() early. */
  interrupt(): void
  close(): Promise<void>
}

export interface Output {
  /** Fences older incarnations, then returns the cursor of the last committed transaction. */
  open(): Promise<RelayCursor>
  /** Publishes the messages and the cursor after them in one transaction. */
  publish(messages: OutMessage[], cursor: RelayCursor): Promise<void>
  close(): Promise<void>
}
