import type { Config } from '../config/settings.ts'
import type { JointFanOut } from '../pg/joint-ingest.ts'
import { fanOutRound, type RoundResult } from './fan-out-round.ts'
import type { Clock } from './ports.ts'
import type { ShardManager } from './shard-manager.ts'

/**
 * The ingest stage's share of the fan-out (pg/joint-ingest.ts): for a batch spanning shards that
 * run here, the first chunks of the batch's new campaigns in the shards whose locks were free, in
 * one round, up to one fan-out transaction's rows (fanoutChunk) in all, and after the commit each
 * of those shards' writers told what was written and what is left. The first chunk of a campaign
 * is cut as when its shard's relay is behind: the ingest is not kept by a big campaign, whose later
 * chunks its writer makes, nor by a backlog, which the writers share.
 */
export function jointFanOut(
  manager: Pick<ShardManager, 'held' | 'fannedOut'>,
  config: Pick<Config, 'activeMarginSeconds' | 'fanoutChunk' | 'jointLockWaitMs'>,
  clock: Clock,
): JointFanOut<RoundResult> {
  return {
    // No fan-out turn is taken: the ingest runs one transaction at a time, so with it at most
    // fanoutConcurrency + 1 transactions write subscribers_feedback at once. Waiting for a turn
    // (as until the ninth round) sent most batches down the plain path while the writers were
    // busy, and each shard's writer then committed its own transaction (docs/scaling.md).
    lockWaitMs: config.jointLockWaitMs,
    take: shards => {
      const held = manager.held(shards)
      return held.length > 0 ? held : undefined
    },
    fanOut: async (tx, locked) => {
      // One round over the batch's new campaigns of every shard locked, in id order, so that their
      // first chunks share statements (each range is recorded under its event's shard): a round per
      // shard made two round trips per shard. One fan-out transaction's rows in all, as a writer's:
      // the ingest waits for this one.
      const round = await fanOutRound(tx, {
        nowSeconds: Math.floor(clock.now() / 1000),
        config,
        room: 0,
        // The writers' round-robin positions are their own: the joint round holds only the batch's campaigns.
        after: () => 0,
        taken: () => {},
      })
      // A round cut short (budget, or most campaigns per transaction) leaves every shard's writer woken.
      return new Map(
        locked.map(shard => [shard, { done: round.done.filter(d => d.shard === shard), exhausted: round.exhausted, held: false }]),
      )
    },
    done: (shard, round) => manager.fannedOut(shard, round),
  }
}
