import type { Counter } from 'prom-client'
import { type RatePoint, RateWindow } from '../core/rate-window.ts'
import type { Metrics } from './metrics.ts'

async function counterValue(counter: Counter): Promise<number> {
  return (await counter.get()).values[0]?.value ?? 0
}

export interface ThroughputSampler {
  points(): RatePoint[]
  stop(): void
}

/** Samples the push counters every `intervalMs` into a ring buffer of `capacity` samples (the dashboard chart). */
export function startThroughputSampler(
  metrics: Metrics,
  opts: { intervalMs: number; capacity: number; now?: () => number },
): ThroughputSampler {
  const now = opts.now ?? Date.now
  const window = new RateWindow(opts.capacity)
  const sample = async () => {
    window.add({ at: now(), written: await counterValue(metrics.pushesWritten), published: await counterValue(metrics.pushesPublished) })
  }
  void sample()
  const timer = setInterval(() => void sample(), opts.intervalMs)
  timer.unref()
  return { points: () => window.points(), stop: () => clearInterval(timer) }
}
