// Seed 000's sample subscribers: nine favour the sample restaurant, one favours another.
export const SAMPLE_RESTAURANT = '123e4567-e89b-12d3-a456-426614174000'
const OTHER = '123e4567-e89b-12d3-a456-426614174001'

export const SAMPLE_SUBSCRIBERS: Array<[clientId: string, restaurantId: string]> = [
  ['223e4567-e89b-12d3-a456-426614174000', SAMPLE_RESTAURANT],
  ['323e4567-e89b-12d3-a456-426614174000', SAMPLE_RESTAURANT],
  ['423e4567-e89b-12d3-a456-426614174000', SAMPLE_RESTAURANT],
  ['523e4567-e89b-12d3-a456-426614174000', SAMPLE_RESTAURANT],
  ['623e4567-e89b-12d3-a456-426614174000', SAMPLE_RESTAURANT],
  ['723e4567-e89b-12d3-a456-426614174000', SAMPLE_RESTAURANT],
  ['823e4567-e89b-12d3-a456-426614174000', SAMPLE_RESTAURANT],
  ['923e4567-e89b-12d3-a456-426614174000', OTHER],
  ['023e4567-e89b-12d3-a456-426614174000', SAMPLE_RESTAURANT],
  ['123e4567-e89b-12d3-a456-426614174000', SAMPLE_RESTAURANT],
]

/** A restaurant_actions value in the seed's shape. */
export function sampleCampaign(campaignId: string, content: string, start: number, end: number): string {
  return JSON.stringify({
    restaurant_id: SAMPLE_RESTAURANT,
    adv_campaign_id: campaignId,
    adv_campaign_content: content,
    adv_campaign_owner: 'Ivanov Ivan Ivanovich',
    adv_campaign_owner_contact: 'iiivanov@restaurant.ru',
    adv_campaign_datetime_start: start,
    adv_campaign_datetime_end: end,
    datetime_created: start - 60,
  })
}
