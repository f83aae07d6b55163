// Seed 000's sample data: one campaign and ten subscriptions, nine of them to the campaign's
// restaurant (row 8 favours another restaurant).
export const SEED_EVENT_VALUE =
  '{"restaurant_id": "123e4567-e89b-12d3-a456-426614174000","adv_campaign_id": "123e4567-e89b-12d3-a456-426614174003","adv_campaign_content": "first campaign","adv_campaign_owner": "Ivanov Ivan Ivanovich","adv_campaign_owner_contact": "iiivanov@restaurant.ru","adv_campaign_datetime_start": 1659203516,"adv_campaign_datetime_end": 2659207116,"datetime_created": 1659131516}'

export const SEED_RESTAURANT = '123e4567-e89b-12d3-a456-426614174000'

export const SEED_SUBSCRIBERS: Array<[id: number, clientId: string, restaurantId: string]> = [
  [1, '223e4567-e89b-12d3-a456-426614174000', SEED_RESTAURANT],
  [2, '323e4567-e89b-12d3-a456-426614174000', SEED_RESTAURANT],
  [3, '423e4567-e89b-12d3-a456-426614174000', SEED_RESTAURANT],
  [4, '523e4567-e89b-12d3-a456-426614174000', SEED_RESTAURANT],
  [5, '623e4567-e89b-12d3-a456-426614174000', SEED_RESTAURANT],
  [6, '723e4567-e89b-12d3-a456-426614174000', SEED_RESTAURANT],
  [7, '823e4567-e89b-12d3-a456-426614174000', SEED_RESTAURANT],
  [8, '923e4567-e89b-12d3-a456-426614174000', '123e4567-e89b-12d3-a456-426614174001'],
  [9, '023e4567-e89b-12d3-a456-426614174000', SEED_RESTAURANT],
  [10, '123e4567-e89b-12d3-a456-426614174000', SEED_RESTAURANT],
]
