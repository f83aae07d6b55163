import type { Campaign } from './campaign.ts'

// The push_message value, byte for byte the seed's format and field order. Every message of one
// fan-out shares everything but client_id, so that part is serialised once per campaign, as the
// text before and after the id; the relay copies the two as bytes around each id.
function prefix(c: Campaign): string {
  return (
    `{"restaurant_id":${JSON.stringify(c.restaurantId)}` +
    `,"adv_campaign_id":${JSON.stringify(c.campaignId)}` +
    `,"adv_campaign_content":${JSON.stringify(c.content)}` +
    `,"adv_campaign_owner":${JSON.stringify(c.owner)}` +
    `,"adv_campaign_owner_contact":${JSON.stringify(c.ownerContact)}` +
    `,"adv_campaign_datetime_start":${c.start}` +
    `,"adv_campaign_datetime_end":${c.end}` +
    `,"client_id":`
  )
}

function suffix(c: Campaign, triggerSeconds: number): string {
  return `,"datetime_created":${c.created},"trigger_datetime_created":${triggerSeconds}}`
}

/** What comes before and after the client id in every push of one fan-out: a push is head + clientId + tail. */
export function pushMessageAround(c: Campaign, triggerSeconds: number): { head: string; tail: string } {
  return { head: `${prefix(c)}"`, tail: `"${suffix(c, triggerSeconds)}` }
}

/**
 * One client's push message; clientId must be a canonical UUID string (it is written unescaped).
 * @internal also used by tests and the bench
 */
export function pushMessage(c: Campaign, clientId: string, triggerSeconds: number): string {
  const { head, tail } = pushMessageAround(c, triggerSeconds)
  return `${head}${clientId}${tail}`
}
