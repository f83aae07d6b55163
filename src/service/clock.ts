import type { Clock } from './ports.ts'

export const systemClock: Clock = {
  now: () => Date.now(),
  // Not timers/promises' delay: aborting it builds an AbortError (a stack capture) and a rejection
  // per wake, and writers and relays are woken once or more per campaign (~4 % of the service's CPU
  // at 100 campaigns/s). An abort ends the sleep early; the caller looks at its own state for why.
  sleep(ms, signal) {
    if (signal?.aborted) return Promise.resolve()
    return new Promise(resolve => {
      const done = () => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      signal?.addEventListener('abort', done, { once: true })
    })
  },
}

/** The reason a sleeping loop is woken with: a constant, where abort() would build a DOMException with a stack. */
export const WOKEN = 'woken'
