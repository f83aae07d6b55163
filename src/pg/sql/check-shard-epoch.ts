import { ErrorCodes, OfferstreamError } from '../../errors.ts'
import type { Db } from '../db.ts'

/**
 * Throws SHARD_LOST unless the shard's epoch is still `epoch`. Run under the shard lock: a new
 * owner raises the epoch under the same lock, so once it has, no transaction of the old owner can
 * pass this check, and one that passed it has committed or rolled back before the raise.
 */
export async function checkShardEpoch(client: Db, shard: number, epoch: number): Promise<void> {
  const { rows } = await client.query<{ epoch: number }>({
    name: 'offerstream_check_shard_epoch',
    text: 'select epoch from offerstream_shards where shard = $1',
    values: [shard],
  })
  assertShardEpoch(shard, rows[0]?.epoch, epoch)
}

/** SHARD_LOST unless the epoch read is ours. */
export function assertShardEpoch(shard: number, current: number | undefined, epoch: number): void {
  if (current !== epoch)
    throw new OfferstreamError(ErrorCodes.SHARD_LOST, `shard ${shard} was taken over (epoch ${current ?? 'none'}, ours ${epoch})`)
}
