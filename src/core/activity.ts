import type { RuledState, SettableState } from './campaign-state.ts'

// When a campaign may be pushed: start <= now <= end - margin. Pushing in the last minutes of a
// campaign only annoys users, hence the margin. Applied at arrival, when a pending campaign comes
// due, and before every fan-out chunk: this is the rule's only home.
export function stateAt(start: number, end: number, nowSeconds: number, marginSeconds: number): RuledState {
  const lastPush = end - marginSeconds
  // A window shorter than the margin can never be active: treat it as expired now rather than
  // waiting for its start only to skip it then.
  if (nowSeconds > lastPush || start > lastPush) return 'expired'
  if (nowSeconds < start) return 'pending'
  return 'fanning'
}

/**
 * Where a stored campaign stands by its current version (offerstream_campaigns): a cancel
 * overrides any window. A campaign with no version yet (only its cancel was seen) cannot be pushed.
 */
export function campaignStateAt(
  c: { start: number | null; end: number | null; cancelled: boolean },
  nowSeconds: number,
  marginSeconds: number,
): SettableState {
  if (c.cancelled) return 'cancelled'
  if (c.start === null || c.end === null) return 'expired'
  return stateAt(c.start, c.end, nowSeconds, marginSeconds)
}
