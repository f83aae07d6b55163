// When a campaign may be pushed: start <= now <= end - margin. Pushing in the last minutes of a
// campaign only annoys users, hence the margin.
export type Activity = 'active' | 'early' | 'expired'

export function activityAt(start: number, end: number, nowSeconds: number, marginSeconds: number): Activity {
  const lastPush = end - marginSeconds
  // A window shorter than the margin can never be active: treat it as expired now rather than
  // waiting for its start only to skip it then.
  if (nowSeconds > lastPush || start > lastPush) return 'expired'
  if (nowSeconds < start) return 'early'
  return 'active'
}
