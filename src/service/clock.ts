import { setTimeout as delay } from 'node:timers/promises'
import type { Clock } from './ports.ts'

export const systemClock: Clock = {
  now: () => Date.now(),
  async sleep(ms, signal) {
    try {
      await delay(ms, undefined, { signal })
    } catch {
      // Aborted: the caller looks at its own state to see why.
    }
  },
}
