import type { Db } from '../db.ts'

const SQL = `
update offerstream_events
set status = case when $1::bigint > adv_campaign_datetime_end - $2::bigint then 'expired' else 'fanning' end,
    trigger_datetime_created = $1::bigint
where status = 'pending' and adv_campaign_datetime_start <= $1::bigint
returning status`

/** Moves pending campaigns whose start has come to fanning (or expired if their window passed). */
export async function promoteDueEvents(
  client: Db,
  nowSeconds: number,
  marginSeconds: number,
): Promise<{ fanning: number; expired: number }> {
  const { rows } = await client.query<{ status: string }>({
    name: 'offerstream_promote_due',
    text: SQL,
    values: [nowSeconds, marginSeconds],
  })
  const fanning = rows.filter(r => r.status === 'fanning').length
  return { fanning, expired: rows.length - fanning }
}
