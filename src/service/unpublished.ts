/**
 * A shard's fan-out rows written to PostgreSQL but not yet published to Kafka, as the shard's writer
 * and relay in this instance count them (they always run together, so no SQL is needed). The writer
 * holds back the later chunks of a big campaign while `limit` rows are waiting: the relay publishes
 * in id order, and a small campaign written behind a million unpublished rows waited seconds for them.
 *
 * The count may fall short of the truth (rows a previous owner left, a commit racing a drained read)
 * but never exceeds it for long: every row counted is published by this relay, and a read that finds
 * nothing more resets it. Short only means less holding back; too high could stall a fan-out.
 */
export class Unpublished {
  #rows = 0
  #limit: () => number
  #listeners: Array<() => void> = []

  /** limit: rows a big fan-out may keep ahead of the relay, now (src/service/small-campaigns.ts); 0: no limit. */
  constructor(limit: number | (() => number)) {
    this.#limit = typeof limit === 'number' ? () => limit : limit
  }

  get rows(): number {
    return this.#rows
  }

  /** How many rows a big campaign's next chunk may still add; Infinity without a limit. */
  room(): number {
    const limit = this.#limit()
    return limit === 0 ? Number.POSITIVE_INFINITY : limit - this.#rows
  }

  /** The writer committed n rows. */
  written(n: number): void {
    this.#rows += n
  }

  /** The relay committed n pushes; drained: its read found everything committed before it. */
  published(n: number, drained: boolean): void {
    const before = this.#rows
    this.#rows = drained ? 0 : Math.max(0, this.#rows - n)
    if (this.#rows < before) for (const fn of this.#listeners) fn()
  }

  /** fn runs whenever the count falls: a held writer may go on. */
  onRoom(fn: () => void): void {
    this.#listeners.push(fn)
  }
}
