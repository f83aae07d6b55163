import type pg from 'pg'
import { translatePgError } from './pg-errors.ts'

/** Runs fn in a transaction on a pooled client; rolls back on any error, which comes back translated. */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  let client: pg.PoolClient
  try {
    client = await pool.connect()
  } catch (error) {
    throw translatePgError(error)
  }
  let broken = false
  try {
    await client.query('begin')
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
