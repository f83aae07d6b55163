import { parentPort, workerData } from 'node:worker_threads'
import { watchPushes } from '../testkit/sinks.ts'
import type { SeenDelta } from './push-watcher.ts'

// The worker side of push-watcher.ts: the same reader, its tallies sent up once per burst of records.
const { brokers, topic } = workerData as { brokers: string[]; topic: string }
const port = parentPort!
const pending = new Map<string, [number, number, number]>()
let scheduled = false
const flush = () => {
  scheduled = false
  const delta: SeenDelta = [...pending].map(([id, [n, first, last]]) => [id, n, first, last])
  pending.clear()
  if (delta.length) port.postMessage(delta)
}
const watch = await watchPushes(brokers, topic, false)
// The reader's tally object, wrapped: every push it counts is also counted into the next update.
const add = watch.seen.add.bind(watch.seen)
watch.seen.add = (id, n, at) => {
  add(id, n, at)
  const p = pending.get(id)
  if (p) {
    p[0] += n
    p[2] = at
  } else pending.set(id, [n, at, at])
  if (!scheduled) {
    scheduled = true
    setImmediate(flush)
  }
}
port.on('message', async (m: string) => {
  if (m !== 'close') return
  await watch.close()
  flush()
  port.close()
})
port.postMessage('ready')
