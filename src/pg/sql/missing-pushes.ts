import type { Db } from '../db.ts'

// Failover repair (src/service/regression-repair.ts): rows Kafka proves were pushed but PostgreSQL lost.
const MISSING_SQL = `
select p.c::text as campaign, p.k::text as client from unnest($1::uuid[], $2::uuid[]) p(c, k)
where not exists (select 1 from subscribers_feedback f where f.adv_campaign_id = p.c and f.client_id = p.k)`

/** The (campaign, client) pairs among those given that subscribers_feedback lacks. */
export async function missingPushes(db: Db, campaigns: string[], clients: string[]): Promise<Array<{ campaign: string; client: string }>> {
  const { rows } = await db.query({ text: MISSING_SQL, values: [campaigns, clients] })
  return rows
}
