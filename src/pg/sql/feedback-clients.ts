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
    text: `select id, client_id from subscribers_feedback
           where id > $1 and id <= $2 and adv_campaign_id = $3 order by id limit $4`,
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
