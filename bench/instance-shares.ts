import { shardOf } from '../src/core/shard.ts'
import type { CampaignEvent } from '../testkit/campaigns.ts'
import type { BenchEnv } from './bench-env.ts'

/**
 * The measured backlog's pushes per owning instance, largest first, from the shards' owners at the
 * end of the window (offerstream_shards). A campaign's pushes all come from its shard, and zipf
 * audiences make shards uneven: the instance with the most pushes ends the run, so with N instances
 * the speed-up cannot exceed total ÷ largest share even if each ran as fast as one alone.
 */
export async function pushesPerInstance(env: BenchEnv, events: CampaignEvent[]): Promise<number[]> {
  const { rows } = await env.pool.query<{ shard: number; owner: string | null }>('select shard, owner from offerstream_shards')
  const owner = new Map(rows.map(r => [r.shard, r.owner ?? '?']))
  const per = new Map<string, number>()
  for (const e of events) {
    if (!e.campaignId || e.expected === 0) continue
    const who = owner.get(shardOf(e.campaignId, env.config.shards)) ?? '?'
    per.set(who, (per.get(who) ?? 0) + e.expected)
  }
  return [...per.values()].sort((a, b) => b - a)
}
