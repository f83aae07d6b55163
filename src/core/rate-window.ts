// The dashboard's throughput chart: the last N samples of two monotonic counters (pushes written to
// PostgreSQL, pushes published to Kafka), turned into per-second rates and the gap between them.

interface CounterSample {
  /** Milliseconds since the epoch. */
  at: number
  written: number
  published: number
}

export interface RatePoint {
  at: number
  writtenPerSecond: number
  publishedPerSecond: number
  /** Pushes written but not yet published. Never negative: after a restart the relay publishes rows an earlier process wrote. */
  lag: number
}

export class RateWindow {
  readonly #samples: CounterSample[] = []
  readonly #capacity: number

  /** Keeps `capacity` samples, i.e. `capacity - 1` rate points. */
  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 2) throw new RangeError(`capacity must be an integer >= 2, got ${capacity}`)
    this.#capacity = capacity
  }

  add(sample: CounterSample): void {
    const last = this.#samples.at(-1)
    // A clock step backwards would give a negative or infinite rate; drop the sample instead.
    if (last && sample.at <= last.at) return
    this.#samples.push(sample)
    if (this.#samples.length > this.#capacity) this.#samples.shift()
  }

  points(): RatePoint[] {
    const out: RatePoint[] = []
    let a: CounterSample | undefined
    for (const b of this.#samples) {
      if (!a) {
        a = b
        continue
      }
      const seconds = (b.at - a.at) / 1000
      out.push({
        at: b.at,
        // Counters restart at 0 with the process; a drop is a restart, not negative work.
        writtenPerSecond: Math.max(0, b.written - a.written) / seconds,
        publishedPerSecond: Math.max(0, b.published - a.published) / seconds,
        lag: Math.max(0, b.written - b.published),
      })
      a = b
    }
    return out
  }
}
