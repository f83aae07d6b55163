import { FEEDBACK_STAGES, type FeedbackKind } from '../src/core/feedback.ts'
import { type Rng, shuffle, unseededRng } from './rng.ts'

// Feedback for pushes already made, and what the sinks must hold afterwards, computed from the
// pairs alone: each distinct event once in offerstream_feedback, each push's furthest stage in
// subscribers_feedback.feedback, each bad record once in the feedback DLQ.

export interface FeedbackWorkload {
  /** push_feedback values in production order; good events appear more than once. */
  values: string[]
  /** `${campaign}/${client}/${kind}/${datetime}` of every distinct good event. */
  events: Set<string>
  /** `${campaign}/${client}` -> furthest stage. */
  stages: Map<string, FeedbackKind>
  /** Values that must each land once in the feedback DLQ: malformed, wrong kind, unknown push. */
  bad: Set<string>
}

// A user's path through the stages: every prefix of delivered -> opened -> clicked -> redeemed,
// or delivered -> dismissed, optionally followed by opened (dismissed, then opened from the list).
const PATHS: FeedbackKind[][] = [
  ['delivered'],
  ['delivered', 'opened'],
  ['delivered', 'opened', 'clicked'],
  ['delivered', 'opened', 'clicked', 'redeemed'],
  ['delivered', 'dismissed'],
  ['delivered', 'dismissed', 'opened'],
]

export function buildFeedbackWorkload(
  pairs: Iterable<string>,
  o: { nowSeconds: number; repeat?: number; badEvery?: number; rng?: Rng },
): FeedbackWorkload {
  const rng = o.rng ?? unseededRng()
  const values: string[] = []
  const events = new Set<string>()
  const stages = new Map<string, FeedbackKind>()
  const bad = new Set<string>()
  let i = 0
  for (const pair of pairs) {
    const [campaign, client] = pair.split('/') as [string, string]
    const path = PATHS[i % PATHS.length] ?? ['delivered']
    path.forEach((kind, step) => {
      const at = o.nowSeconds + step * 7 + (i % 5)
      const value = JSON.stringify({ adv_campaign_id: campaign, client_id: client, feedback: kind, datetime_created: at })
      events.add(`${campaign}/${client}/${kind}/${at}`)
      values.push(value)
      // Apps retry: some events arrive again, at some other point of the stream.
      if ((i + step) % (o.repeat ?? 4) === 0) values.push(value)
    })
    stages.set(
      pair,
      path.reduce((a, b) => (FEEDBACK_STAGES.indexOf(b) > FEEDBACK_STAGES.indexOf(a) ? b : a)),
    )
    if (i % (o.badEvery ?? 10) === 0) {
      const kind = i % 3
      const v =
        kind === 0
          ? `not json ${rng.uuid()}`
          : JSON.stringify({
              adv_campaign_id: campaign,
              client_id: kind === 1 ? client : rng.uuid(),
              feedback: kind === 1 ? 'liked' : 'opened',
              datetime_created: o.nowSeconds,
            })
      bad.add(v)
      values.push(v)
    }
    i++
  }
  return { values: shuffle(values, rng), events, stages, bad }
}
