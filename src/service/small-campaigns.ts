import type { Clock } from './ports.ts'

// How long after a small campaign was written big fan-outs keep to the shared lead. At the
// small-campaign rates measured (10/s) one second spans ten of them; a lone big fan-out is back to
// the full lead a second after the last one.
const RECENT_MS = 1000

/**
 * When this instance last wrote a small campaign (one finished in its first chunk), shared by its
 * shards' writers: while small campaigns are being written, a big fan-out in any shard keeps fewer
 * rows ahead of its relay (OFFERSTREAM_FANOUT_LEAD_SHARED, 2,000, instead of OFFERSTREAM_FANOUT_LEAD, 5,000). Its
 * chunks and relay transactions shrink with that, and a small campaign waits for less: in its own
 * shard for the writer's chunk and the relay's transaction in flight, in every shard for the big
 * transaction that holds each push_message partition's last stable offset (docs/scaling.md).
 */
export class SmallCampaigns {
  #clock: Clock
  #lastAt = Number.NEGATIVE_INFINITY

  constructor(clock: Clock) {
    this.#clock = clock
  }

  written(): void {
    this.#lastAt = this.#clock.now()
  }

  recent(): boolean {
    return this.#clock.now() - this.#lastAt < RECENT_MS
  }
}

/**
 * The lead a big fan-out may keep now: `shared` while small campaigns are being written (never
 * more than `lead`), else `lead`. 0 means no limit for `lead` and "not used" for `shared`.
 */
export function leadNow(lead: number, shared: number, small: SmallCampaigns): number {
  if (shared === 0 || !small.recent()) return lead
  return lead === 0 ? shared : Math.min(lead, shared)
}
