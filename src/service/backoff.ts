/**
 * Exponential backoff with equal jitter, capped: the ceiling doubles from 100 ms up to maxMs and the
 * delay is drawn from its upper half. Equal rather than full jitter so that a retry never comes
 * right back at a dependency that is down, while instances still spread out.
 */
export function backoffDelay(attempt: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, 100 * 2 ** Math.min(attempt, 16))
  return Math.floor(ceiling / 2 + random() * (ceiling / 2))
}
