import type pg from 'pg'
import { OfferstreamError } from '../errors.ts'
import { translatePgError } from './pg-errors.ts'
import { takeShardLocks } from './shard-lock.ts'
import { acquireShard } from './sql/acquire-shard.ts'
import { checkShardEpoch } from './sql/check-shard-epoch.ts'
import { setupShards } from './sql/setup-shards.ts'
import { withTransaction } from './transaction.ts'

/** The shard table's side of ownership: set-up at start and taking a shard on assignment. Errors come back translated. */
export class PgShardOwner {
  #pool: pg.Pool

  constructor(pool: pg.Pool) {
    this.#pool = pool
  }

  setup(shards: number) {
    return withTransaction(this.#pool, client => setupShards(client, shards))
  }

  /** Throws SHARD_LOST when the shard's epoch is no longer `epoch`. */
  check(shard: number, epoch: number) {
    return checkShardEpoch(this.#pool, shard, epoch).catch(error => {
      throw error instanceof OfferstreamError ? error : translatePgError(error)
    })
  }

  /** The new epoch, or null when a newer group generation holds the shard. Waits for the old owner's transaction. */
  acquire(shard: number, generation: number, owner: string, force: boolean) {
    return withTransaction(this.#pool, async client => {
      await takeShardLocks(client, [shard])
      return acquireShard(client, shard, generation, owner, force)
    })
  }
}
