import type { Config } from '../config/settings.ts'
import type { JointFanOut } from '../pg/joint-ingest.ts'
import { fanOutRound, type RoundResult } from './fan-out-round.ts'
import type { Clock } from './ports.ts'
import type { ShardManager } from './shard-manager.ts'
import type { Turns } from './turns.ts'

/**
 * The ingest stage's share of the fan-out (pg/joint-ingest.ts): for a batch spanning shards that
 * run here, one fan-out turn of the instance's (so no more transactions write subscribers_feedback
 * at once than fanoutConcurrency allows), the first chunks of the batch's new campaigns in each
 * shard whose lock was free, up to one fan-out transaction's rows (fanoutChunk) in all, and after
 * the commit each of those shards' writers told what was written and what is left. The first
 * chunk of a campaign is cut as when its shard's relay is behind: the ingest is not kept by a big
 * campaign, whose later chunks its writer makes, nor by a backlog, which the writers share.
 */
export function jointFanOut(
  manager: Pick<ShardManager, 'held' | 'fannedOut'>,
  turns: Pick<Turns, 'tryTake'>,
  config: Pick<Config, 'activeMarginSeconds' | 'fanoutChunk'>,
  clock: Clock,
): JointFanOut<RoundResult> {
  return {
    take: shards => {
      const held = manager.held(shards)
      const release = held.length > 0 ? turns.tryTake() : undefined
      return release ? { shards: held, release } : undefined
    },
    fanOut: async (txOf, locked) => {
      const nowSeconds = Math.floor(clock.now() / 1000)
      // One fan-out transaction's rows in all, as a writer's: the ingest waits for this one.
      let budget = config.fanoutChunk
      const rounds = new Map<number, RoundResult>()
      for (const shard of locked) {
        // With the budget spent, a round takes nothing and says it did not finish: the writer is woken.
        const round = await fanOutRound(txOf(shard), {
          nowSeconds,
          config: { ...config, fanoutChunk: budget },
          room: 0,
          // The writer's round-robin position is its own: the joint round holds only the batch's campaigns.
          after: () => 0,
          taken: () => {},
        })
        for (const d of round.done) budget -= d.inserted + d.suppressed
        rounds.set(shard, round)
      }
      return rounds
    },
    done: (shard, round) => manager.fannedOut(shard, round),
  }
}
