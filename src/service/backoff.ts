import { setTimeout as sleep } from 'node:timers/promises'

/** Exponential backoff with full jitter, capped: 100 ms, 200 ms, ... up to maxMs. */
export function backoffDelay(attempt: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, 100 * 2 ** Math.min(attempt, 16))
  return Math.floor(ceiling / 2 + Math.random() * (ceiling / 2))
}

export async function pause(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal })
  } catch {
    // Aborted: the caller checks its own stop flag.
  }
}
