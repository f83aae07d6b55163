import { FEEDBACK_KINDS, type FeedbackKind } from './feedback.ts'

/** One campaign's current version, reach and response. Feedback dated after the campaign's end is not counted. */
export interface CampaignStats {
  campaignId: string
  restaurantId: string
  /** The current version's content; null while only a cancel was received (so are start and end). */
  content: string | null
  /** The campaign window, unix seconds. */
  start: number | null
  end: number | null
  /** datetime_created of the current (winning) version; null while only a cancel was received. */
  version: number | null
  /** Campaign records received for this id (more than 1: updated or re-sent). */
  versions: number
  /** When the cancel was committed (ISO 8601); null if not cancelled. */
  cancelledAt: string | null
  /** pending | fanning | done | expired of the campaign's latest event, or cancelled. */
  status: string
  /** Pushes sent (subscribers_feedback rows written). */
  pushed: number
  /** Pairs a frequency cap kept from being pushed (dropped, not deferred). */
  suppressed: number
  /** Distinct clients who reported each kind within the campaign window. */
  feedback: Record<FeedbackKind, number>
  /** Distinct clients with any feedback other than 'delivered'. */
  responded: number
  /** responded / pushed; 0 when nothing was pushed. */
  responseRate: number
  /** Seconds from a client's push to that client's first feedback of any kind (negative device clock skew counts as 0). */
  firstFeedbackSeconds: { p50: number | null; avg: number | null }
}

/** What the statistics queries return per campaign, before the derived fields. */
type CampaignCounts = Omit<CampaignStats, 'responseRate' | 'feedback'> & { feedback: Partial<Record<FeedbackKind, number>> }

export function campaignStats(c: CampaignCounts): CampaignStats {
  const feedback = Object.fromEntries(FEEDBACK_KINDS.map(k => [k, c.feedback[k] ?? 0])) as Record<FeedbackKind, number>
  return { ...c, feedback, responseRate: c.pushed > 0 ? c.responded / c.pushed : 0 }
}
