import type { InputRecord } from '../kafka/input-source.ts'
import type { Logger } from './logger.ts'
import type { Clock, Input } from './ports.ts'

// How long a take waits for input before the loop goes round (stop() interrupts it anyway).
const TAKE_WAIT_MS = 1000

/**
 * The input offsets of stored records, committed to Kafka at most once per interval
 * (OFFERSTREAM_INPUT_COMMIT_INTERVAL_MS), in the background: the records are already durable in
 * PostgreSQL, so a commit only shortens redelivery, and it overlaps the next take. Once per interval
 * instead of once per batch spares the broker an OffsetCommit (and a log append) per transaction:
 * ~60 a second at 100 campaigns/s. One commit in flight at a time, in order. Shared by the ingest
 * stage and the feedback intake.
 */
export class OffsetCommits {
  #clock: Clock
  #log: Logger
  #intervalMs: number
  /** The last stored record of each input partition whose offset is not committed yet. */
  #uncommitted = new Map<string, InputRecord>()
  #lastCommitAt = 0
  #pending: Promise<void> | undefined

  constructor(clock: Clock, log: Logger, intervalMs: number) {
    this.#clock = clock
    this.#log = log
    this.#intervalMs = intervalMs
  }

  /** The batch is stored: its offsets may be committed. Commits them if the interval is up. */
  stored(input: Input, batch: InputRecord[]): void {
    for (const r of batch) {
      const k = `${r.topic}\u0000${r.partition}`
      const prev = this.#uncommitted.get(k)
      if (!prev || prev.offset < r.offset) this.#uncommitted.set(k, r)
    }
    this.maybeCommit(input)
  }

  /** Commits what is waiting if the interval is up (a take came back empty: a quiet input still gets its last offsets committed). */
  maybeCommit(input: Input): void {
    if (this.#uncommitted.size > 0 && this.#clock.now() - this.#lastCommitAt >= this.#intervalMs) this.#commit(input)
  }

  /** How long the next take may wait for input: no longer than until the waiting offsets are due. */
  takeWaitMs(): number {
    if (this.#uncommitted.size === 0) return TAKE_WAIT_MS
    const dueIn = this.#lastCommitAt + this.#intervalMs - this.#clock.now()
    return Math.max(1, Math.min(TAKE_WAIT_MS, dueIn))
  }

  /**
   * The input is being dropped: commits what is waiting (stored records need no commit to be safe,
   * but one saves their redelivery; after a failure it may fail too) and waits for the commits in flight.
   */
  async flush(input: Input | undefined): Promise<void> {
    if (input && this.#uncommitted.size > 0) this.#commit(input)
    this.#uncommitted.clear()
    await this.#pending
  }

  #commit(input: Input): void {
    const done = [...this.#uncommitted.values()]
    this.#uncommitted.clear()
    this.#lastCommitAt = this.#clock.now()
    const previous = this.#pending
    this.#pending = (async () => {
      await previous
      await input.commit(done)
    })().catch(error => {
      // Harmless: a redelivered record is recognised by its position (or its key) and skipped.
      this.#log.warn({ err: (error as Error).message }, 'input offset commit failed; records may be redelivered')
    })
  }
}
