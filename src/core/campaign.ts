// The campaign as the service understands it, after decoding. Field names follow the wire format's
// meaning; times are unix seconds, ids are lower-case UUID strings.
export interface Campaign {
  restaurantId: string
  campaignId: string
  content: string
  owner: string | null
  ownerContact: string | null
  start: number
  end: number
  created: number
}

/** A cancel: the campaign it names and the restaurant it must belong to. */
export interface CancelOrder {
  restaurantId: string
  campaignId: string
}
