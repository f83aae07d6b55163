import { Worker } from 'node:worker_threads'
import { Seen } from '../testkit/sinks.ts'

/** [campaign id, pushes, first seen ms, last seen ms] since the previous update. */
export type SeenDelta = Array<[string, number, number, number]>

/**
 * watchPushes (testkit/sinks.ts) in a worker thread of its own: the bench's main thread produces
 * the campaigns, takes their send times and hears PostgreSQL's notifications, and while a big
 * fan-out is read the decoding of its pushes kept that thread busy (its event loop delay: p99 23,
 * max 49 ms in one small-during-big run), which then showed up as latency of the service's.
 * The reader stamps each push as it is decoded, as before; the main thread gets the tallies.
 */
export async function watchPushesApart(brokers: string[], topic: string): Promise<{ seen: Seen; close(): Promise<void> }> {
  const seen = new Seen(false)
  const worker = new Worker(new URL('./push-watcher-worker.ts', import.meta.url), { workerData: { brokers, topic } })
  const closed = new Promise<void>(resolve => worker.once('exit', () => resolve()))
  await new Promise<void>((resolve, reject) => {
    worker.on('message', (m: 'ready' | SeenDelta) => {
      if (m === 'ready') return resolve()
      for (const [id, n, first, last] of m) {
        if (!seen.byCampaign.has(id)) seen.add(id, 1, first)
        else seen.add(id, 1, last)
        if (n > 1) seen.add(id, n - 1, last)
      }
    })
    worker.once('error', reject)
  })
  return {
    seen,
    async close() {
      worker.postMessage('close')
      await closed
    },
  }
}
