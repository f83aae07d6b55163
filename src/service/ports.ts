// What the writer and the relay need from the outside world, and nothing more. The PostgreSQL and
// Kafka adapters implement these (and translate their drivers' errors into OfferstreamError); unit
// tests implement them in memory.
import type { SettableState } from '../core/campaign-state.ts'
import type { Feedback } from '../core/feedback.ts'
import type { Rejection } from '../core/reject-reason.ts'
import type { InputRecord } from '../kafka/input-source.ts'
import type { OutMessage } from '../kafka/output-producer.ts'
import type { CursorEvent, RelayCursor } from '../kafka/relay-cursor.ts'
import type { InShard } from '../pg/ingest-store.ts'
import type { JointFanOut } from '../pg/joint-ingest.ts'
import type { ChunkClock, ChunkResult } from '../pg/sql/fan-out-chunk.ts'
import type { FanningEvent } from '../pg/sql/fanning-events.ts'
import type { CancelRow, EventRow, StoredRecords } from '../pg/sql/insert-events.ts'
import type { RejectRow } from '../pg/sql/insert-rejects.ts'
import type { FeedbackResult } from '../pg/sql/record-feedback.ts'
import type { RangeRows, RelayFanout } from '../pg/sql/relay-fanouts.ts'
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
   * Records naming another restaurant than their campaign's are rejected too (`mismatched`; of
   * them, `cancelsMismatched` were cancels). `cancels`: cancels applied.
   */
  store(
    events: EventRow[],
    rejects: RejectRow[],
    cancels: CancelRow[],
    inShard?: InShard,
    joint?: JointFanOut<unknown>,
  ): Promise<{
    rows: Array<{ id: number; status: string }>
    rejected: number
    mismatched: Rejection[]
    cancels: number
    cancelsMismatched: number
    /** The events went in through their shard's writer (inShard), which fans them out itself: no wake needed. */
    inShard: boolean
    /** Shards whose new campaigns the store's own transaction fanned out (joint): their writers were told by joint.done. */
    fanned: number[]
  }>
}

/**
 * One transaction of a shard's writer: it holds the shard's lock from its first statement until
 * commit and has checked that the shard is still this owner's. Everything it reads is the shard's.
 */
export interface WriterTx {
  /** Pending campaigns whose start is at or before nowSeconds. */
  dueCampaigns(nowSeconds: number): Promise<DueCampaign[]>
  /** Gives the campaigns a state decided by the caller; trigger is set when given. */
  setState(ids: number[], state: SettableState, trigger: number | null): Promise<void>
  nextPendingStart(): Promise<number | null>
  /**
   * One round robin of the shard's fanning campaigns per transaction: the first call takes the
   * round (those after afterId first, then wrapping to the oldest; at most `limit`, locked for the
   * transaction), each call returns the next campaign of it, and null once every one had its turn
   * or none is fanning. Later calls' arguments are not looked at (the writer passes the id it just
   * took and the same limit). Campaigns that start fanning meanwhile wait for the next transaction.
   */
  nextFanning(afterId: number, limit: number): Promise<FanningEvent | null>
  /** Pushes nothing (live false) when the campaign's row, locked by the chunk, says it may not push at `at`. */
  fanOutChunk(event: FanningEvent, size: number, at: ChunkClock): Promise<ChunkResult>
  /**
   * fanOutChunk for several first chunks (fanoutAfter null, not resent) of `size` each, in one
   * statement where the adapter has one; results in the order given, as if each were run in turn.
   */
  fanOutFirstChunks(events: readonly FanningEvent[], size: number, at: ChunkClock): Promise<ChunkResult[]>
  /** The ingest statement for campaign records of this shard (see InShard), inside this transaction. */
  storeEvents(events: EventRow[]): Promise<StoredRecords>
}

export interface WriterStore {
  /**
   * Runs fn in one transaction under the shard's lock and epoch check (SHARD_LOST when taken over);
   * rolled back if fn throws. `signal` (the writer's stop) ends a wait for the frequency caps' lease.
   */
  transaction<T>(fn: (tx: WriterTx) => Promise<T>, signal?: AbortSignal): Promise<T>
  /** transaction(fn) if the shard's lock is free now; else nothing runs and `ran` is false. */
  tryTransaction<T>(fn: (tx: WriterTx) => Promise<T>, signal?: AbortSignal): Promise<{ ran: true; result: T } | { ran: false }>
}

/** A push_feedback record that decoded, and the reject to store for it if its push was never sent. */
export interface FeedbackItem {
  feedback: Feedback
  unknownPush: (reason: string) => RejectRow
}

/** Stores batches of the feedback intake. */
export interface FeedbackStore {
  /**
   * One transaction: the feedback (a redelivered event is a no-op by its key), the rejects (a
   * redelivered record is a no-op by its position), and an item's unknownPush reject when no push
   * of that campaign to that client exists. One result per item, in order; `rejected`: new rejects.
   */
  store(items: FeedbackItem[], rejects: RejectRow[]): Promise<{ results: FeedbackResult[]; rejected: number }>
}

/** A shard's committed rows the relay publishes; reads outside any transaction. */
export interface RelayStore {
  /** Ranges after the cursor; the leading ones whose rows fit in rowBudget may come with their rows. */
  fanoutsAfter(pushCursor: number, limit: number, rowBudget: number): Promise<RelayFanout[]>
  feedbackClients(campaignId: string, afterId: number, lastId: number, limit: number): Promise<RangeRows>
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
  /** After open(): the cursor came from elsewhere (a deployment's pre-sharding relay), not this id's own records. */
  readonly inherited?: boolean
  /** After open(): whether the transactions run Kafka's transactions v2 (OFFERSTREAM_KAFKA_TRANSACTIONS). */
  readonly transactionsV2?: boolean
  /** Publishes the messages and the cursor after them (with the events the pushes belong to) in one transaction. */
  publish(messages: OutMessage[], cursor: RelayCursor, events?: CursorEvent[]): Promise<void>
  close(): Promise<void>
}
