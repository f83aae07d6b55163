import type { Campaign } from './campaign.ts'

// The push_message value, byte for byte the seed's format and field order. Every message of one
// fan-out shares everything up to client_id, so that part is serialised once per campaign and each
// message costs two string concatenations instead of a JSON.stringify.
export function pushMessagePrefix(c: Campaign): string {
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

export function pushMessageSuffix(c: Campaign, triggerSeconds: number): string {
  return `,"datetime_created":${c.created},"trigger_datetime_created":${triggerSeconds}}`
}

/** clientId must be a canonical UUID string (it is written unescaped). */
export function pushMessage(prefix: string, clientId: string, suffix: string): string {
  return `${prefix}"${clientId}"${suffix}`
}

/**
 * What comes before and after the client id in every push of one fan-out: head + clientId + tail is
 * pushMessage(...). The relay copies the two as bytes around each id instead of building a string.
 */
export function pushMessageAround(c: Campaign, triggerSeconds: number): { head: string; tail: string } {
  return { head: `${pushMessagePrefix(c)}"`, tail: `"${pushMessageSuffix(c, triggerSeconds)}` }
}
