import type { RuledState } from './campaign-state.ts'

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
