import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { migrate } from '../src/pg/migrate.ts'
import { createPool } from '../src/pg/pool.ts'
import { startStack } from '../tools/stack/index.ts'

/**
 * A migrated database of its own for a PostgreSQL-only measurement, on DATABASE_URL's server or, when
 * that is not set, a throwaway local stack; dropped afterwards unless `keep` (to EXPLAIN in it).
 */
export async function withScratchDatabase<T>(
  o: { prefix: string; poolSize: number; keep?: boolean; log: (m: string) => void },
  fn: (pool: pg.Pool) => Promise<T>,
): Promise<T> {
  const stack = process.env.DATABASE_URL ? undefined : await startStack({ log: m => o.log(`[stack] ${m}`) })
  const serverUrl = process.env.DATABASE_URL ?? stack?.databaseUrl ?? ''
  const db = `${o.prefix}_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: serverUrl })
  await admin.connect()
  await admin.query(`create database ${db}`)
  const url = new URL(serverUrl)
  url.pathname = `/${db}`
  const pool = createPool(url.toString(), o.poolSize)
  try {
    await migrate(pool)
    return await fn(pool)
  } finally {
    await pool.end()
    if (o.keep) o.log(`kept database ${db}`)
    else await admin.query(`drop database if exists ${db} with (force)`)
    await admin.end()
    await stack?.stop()
  }
}
