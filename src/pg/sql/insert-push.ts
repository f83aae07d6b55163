// A push's row in subscribers_feedback (the seed's columns) and where each value comes from: the
// event `e`, the campaign's winning version `v`, the client `c`. The caller's FROM names the three;
// both chunk statements (uncapped and capped) insert through this, so a column is added once.
export const INSERT_PUSH = `insert into subscribers_feedback (restaurant_id, adv_campaign_id, adv_campaign_content, adv_campaign_owner,
    adv_campaign_owner_contact, adv_campaign_datetime_start, adv_campaign_datetime_end, datetime_created,
    client_id, trigger_datetime_created, feedback)
  select e.restaurant_id, e.adv_campaign_id, v.adv_campaign_content, v.adv_campaign_owner,
    v.adv_campaign_owner_contact, v.adv_campaign_datetime_start, v.adv_campaign_datetime_end, v.datetime_created,
    c.client_id, e.trigger_datetime_created, null`
