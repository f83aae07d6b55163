import type { Config } from '../config/settings.ts'
import type { JointFanOut } from '../pg/joint-ingest.ts'
import { fanOutRound, type RoundResult } from './fan-out-round.ts'
import type { Clock } from './ports.ts'
import type { ShardManager } from './shard-manager.ts'

/**
 * The ingest stage's share of the fan-out (pg/joint-ingest.ts): for a batch spanning shards that
 * run here, the first chunks of the batch's new campaigns in each shard whose lock was free, up to
 * one fan-out transaction's rows (fanoutChunk) in all, and after
 * the commit each of those shards' writers told what was written and what is left. The first
 * chunk of a campaign is cut as when its shard's relay is behind: the ingest is not kept by a big
 * campaign, whose later chunks its writer makes, nor by a backlog, which the writers share.
 */
export function jointFanOut(
  manager: Pick<ShardManager, 'held' | 'fannedOut'>,
  config: Pick<Config, 'activeMarginSeconds' | 'fanoutChunk'>,
  clock: Clock,
): JointFanOut<RoundResult> {
  return {
    // No fan-out turn is taken: the ingest runs one transaction at a time, so with it at most
    // fanoutConcurrency + 1 transactions write subscribers_feedback at once. Waiting for a turn
    // (as until the ninth round) sent most batches down the plain path while the writers were
    // busy, and each shard's writer then committed its own transaction (docs/scaling.md).
    take: shards => {
      const held = manager.held(shards)
      return held.length > 0 ? held : undefined
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
