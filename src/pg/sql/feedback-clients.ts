import type { Db } from '../db.ts'

/**
 * Feedback ids and client ids of one fan-out range, after a cursor. Only these two columns travel:
 * the rest of every row equals the event's fields, which the relay already holds.
 */
export async function feedbackClients(
  client: Db,
  campaignId: string,
  afterId: number,
  lastId: number,
  limit: number,
): Promise<{ ids: number[]; clients: string[] }> {
  const { rows } = await client.query<[number, string]>({
    name: 'offerstream_feedback_clients',
    // The "offset 0" fence keeps this a primary-key range scan that stops after $4 rows. Without it the
    // generic plan of this prepared statement read the campaign's (adv_campaign_id, client_id) index
    // instead, i.e. all of a big campaign's rows on every batch: 57 ms per 5,000-push read in a
    // 300,000-subscriber fan-out, as much PostgreSQL time as the fan-out's inserts.
    text: `select id, client_id from (
             select id, client_id, adv_campaign_id from subscribers_feedback where id > $1 and id <= $2 order by id offset 0
           ) r where adv_campaign_id = $3 limit $4`,
    values: [afterId, lastId, campaignId, limit],
    rowMode: 'array',
  })
  const ids = new Array<number>(rows.length)
  const clients = new Array<string>(rows.length)
  for (let i = 0; i < rows.length; i++) {
    ids[i] = rows[i]![0]
    clients[i] = rows[i]![1]
  }
  return { ids, clients }
}
