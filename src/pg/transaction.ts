import type pg from 'pg'
import { translatePgError } from './pg-errors.ts'

const plainBegin = async (client: pg.PoolClient) => {
  await client.query('begin')
}

/**
 * Runs fn in a transaction on a pooled client; rolls back on any error, which comes back translated.
 * `begin` opens the transaction (it may do more in the same round trip).
 */
export async function withTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
  begin: (client: pg.PoolClient) => Promise<void> = plainBegin,
): Promise<T> {
  let client: pg.PoolClient
  try {
    client = await pool.connect()
  } catch (error) {
    throw translatePgError(error)
  }
  let broken = false
  try {
    await begin(client)
    const result = await fn(client)
    await client.query('commit')
    return result
  } catch (error) {
    try {
      await client.query('rollback')
    } catch {
      broken = true
    }
    throw translatePgError(error)
  } finally {
    client.release(broken)
  }
}
