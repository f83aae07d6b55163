import { decodeCursor } from '../src/kafka/relay-cursor.ts'
import { consumeCommitted } from '../testkit/sinks.ts'

/**
 * The relays' committed cursors as a read_committed consumer of the state topic sees them, per record
 * key (the relay's transactional id: one relay, or one per shard). A cursor commits in the same
 * transaction as the pushes it covers, so the moment it passes an id is the moment every push of
 * that relay up to that id became visible — without the bench decoding every push, whose CPU would
 * otherwise be taken from the service under test (throughput and big fan-out scenarios).
 */
export async function watchCursor(
  brokers: string[],
  stateTopic: string,
): Promise<{
  reached(targets: Map<string, number>, timeoutMs: number, tick?: () => void): Promise<number | undefined>
  close(): Promise<void>
}> {
  const seen: Array<{ key: string; push: number; at: number }> = []
  const reader = await consumeCommitted(
    brokers,
    stateTopic,
    m => {
      const c = decodeCursor(m.value ?? null)
      if (c) seen.push({ key: m.key?.toString() ?? '', push: c.push, at: Date.now() })
    },
    { clientId: 'bench-cursor', maxWaitTime: 10 },
  )
  return {
    /** When every keyed cursor had reached its target id (ms epoch, the latest of them), or undefined on timeout. */
    async reached(targets, timeoutMs, tick) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const at = [...targets].map(([key, id]) => seen.find(c => c.key === key && c.push >= id)?.at)
        if (at.every(t => t !== undefined)) return Math.max(0, ...at)
        if (Date.now() > deadline) return undefined
        tick?.()
        await new Promise(r => setTimeout(r, 20))
      }
    },
    close: reader.close,
  }
}
