import type { Db } from '../db.ts'
import { type RangeRows, rangeRows } from './relay-fanouts.ts'

/**
 * Client ids of one fan-out range after a cursor, with their count and the last id (RangeRows). Only
 * the client ids travel: the rest of every row equals the event's fields, which the relay already holds.
 */
export async function feedbackClients(client: Db, campaignId: string, afterId: number, lastId: number, limit: number): Promise<RangeRows> {
  const { rows } = await client.query<[number, number | null, string | null]>({
    name: 'offerstream_feedback_clients',
    // The "offset 0" fence keeps this a primary-key range scan that stops after $4 rows. Without it the
    // generic plan of this prepared statement read the campaign's (adv_campaign_id, client_id) index
    // instead, i.e. all of a big campaign's rows on every batch: 57 ms per 5,000-push read in a
    // 300,000-subscriber fan-out, as much PostgreSQL time as the fan-out's inserts. The "order by id"
    // before the limit is already the scan's order; it lets the aggregate see that, where without it
    // PostgreSQL sorted the rows again for string_agg's own order by.
    text: `select count(*)::int, max(id), string_agg(client_id::text, '' order by id) from (
             select id, client_id from (
               select id, client_id, adv_campaign_id from subscribers_feedback where id > $1 and id <= $2 order by id offset 0
             ) r where adv_campaign_id = $3 order by id limit $4
           ) c`,
    values: [afterId, lastId, campaignId, limit],
    rowMode: 'array',
  })
  const [count, last, clients] = rows[0]!
  return rangeRows(count, last, clients)
}
