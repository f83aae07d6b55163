import { ErrorCodes, OfferstreamError } from '../../errors.ts'
import type { Db } from '../db.ts'
import { shardExpression } from './shard-expression.ts'

/**
 * Creates the shard rows on the first sharded start and assigns every stored row its shard (rows
 * from before the shards migration all say 0). The count is fixed from then on: rows already carry
 * shards computed with it. Must run in a transaction; the table lock makes concurrent starts queue.
 */
export async function setupShards(client: Db, shards: number): Promise<'created' | 'present'> {
  await client.query('lock table offerstream_shards in exclusive mode')
  const { rows } = await client.query<{ n: number }>('select count(*)::int as n from offerstream_shards')
  const n = rows[0]?.n ?? 0
  if (n === shards) return 'present'
  if (n > 0)
    throw new OfferstreamError(
      ErrorCodes.CONFIG_INVALID,
      `OFFERSTREAM_SHARDS is ${shards} but this database was set up with ${n} shards; start every instance with OFFERSTREAM_SHARDS=${n}`,
    )
  await client.query('insert into offerstream_shards (shard) select generate_series(0, $1::int - 1)', [shards])
  await client.query(`update offerstream_events set shard = ${shardExpression('adv_campaign_id', '$1::int')}`, [shards])
  await client.query('update offerstream_fanouts x set shard = e.shard from offerstream_events e where e.id = x.event_id')
  await client.query('update offerstream_rejects set shard = source_partition % $1::int', [shards])
  return 'created'
}
