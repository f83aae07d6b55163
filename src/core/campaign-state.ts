// The one vocabulary for where a stored campaign stands. These strings are also the values of
// offerstream_events.status (its CHECK constraint lists exactly these), so renaming one needs a migration.
/** @internal also used by tests */
export const CAMPAIGN_STATES = ['pending', 'fanning', 'done', 'expired', 'cancelled'] as const

export type CampaignState = (typeof CAMPAIGN_STATES)[number]

/** The states a campaign can be given by the activity rule; `done` is reached only by finishing a fan-out. */
export type RuledState = Exclude<CampaignState, 'done' | 'cancelled'>

/** What the writer can set: the rule's states, and `cancelled` once the campaign row says so. */
export type SettableState = Exclude<CampaignState, 'done'>
