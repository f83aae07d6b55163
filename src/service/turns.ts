/**
 * At most `size` holders at a time, served in arrival order: the shard writers of one instance take
 * turns through one of these. Fan-out transactions of many shards inserting into
 * subscribers_feedback at once contend inside PostgreSQL (the same index pages, WAL insertion):
 * 12 at once took ~4x the PostgreSQL time per row of one at a time (settings.ts, fanoutConcurrency).
 */
export class Turns {
  #free: number
  #waiting: Array<() => void> = []

  constructor(size: number) {
    this.#free = size
  }

  /** Waits for a turn; the function returned ends it (calling it again does nothing). */
  async take(): Promise<() => void> {
    if (this.#free > 0) this.#free--
    else await new Promise<void>(resolve => this.#waiting.push(resolve))
    return this.#ender()
  }

  /** A turn if one is free now, else undefined (nothing waits). */
  tryTake(): (() => void) | undefined {
    if (this.#free === 0) return undefined
    this.#free--
    return this.#ender()
  }

  #ender(): () => void {
    let ended = false
    return () => {
      if (ended) return
      ended = true
      const next = this.#waiting.shift()
      if (next) next()
      else this.#free++
    }
  }
}
