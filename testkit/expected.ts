import type pg from 'pg'
import type { ReadRecord } from './fixture.ts'

/** Checks both sinks hold each expected (campaign, client) pair exactly once and nothing else. */
export async function verifySinks(pool: pg.Pool, pushes: ReadRecord[], expected: Set<string>) {
  const { rows } = await pool.query<{ k: string; n: number }>(
    `select adv_campaign_id || '/' || client_id as k, count(*)::int as n from subscribers_feedback group by 1`,
  )
  const pgCounts = new Map(rows.map(r => [r.k, r.n]))
  const kafkaCounts = new Map<string, number>()
  for (const p of pushes) {
    const v = JSON.parse(p.value!.toString())
    const k = `${v.adv_campaign_id}/${v.client_id}`
    kafkaCounts.set(k, (kafkaCounts.get(k) ?? 0) + 1)
  }
  const summarise = (counts: Map<string, number>) => ({
    missing: [...expected].filter(k => !counts.has(k)).length,
    duplicated: [...counts.values()].filter(n => n > 1).length,
    unexpected: [...counts.keys()].filter(k => !expected.has(k)).length,
    total: [...counts.values()].reduce((a, b) => a + b, 0),
  })
  return { pg: summarise(pgCounts), kafka: summarise(kafkaCounts), expected: expected.size }
}
