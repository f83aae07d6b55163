import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type pg from 'pg'
import { checkSchema } from './check-schema.ts'
import { withTransaction } from './transaction.ts'

const DIR = fileURLToPath(new URL('./migrations/', import.meta.url))
// Any constant works; it only has to be the same for every instance so two starting at once queue.
const MIGRATION_LOCK = 7_304_001

interface Migration {
  version: number
  name: string
  sql: string
}

function listMigrations(): Migration[] {
  return readdirSync(DIR)
    .filter(f => /^\d{6}_.+\.sql$/.test(f))
    .sort()
    .map(f => ({ version: Number(f.slice(0, 6)), name: f, sql: readFileSync(DIR + f, 'utf8') }))
}

/** Applies the migrations not yet applied, each in its own transaction. Safe to run concurrently. */
export async function migrate(pool: pg.Pool): Promise<string[]> {
  const applied: string[] = []
  await withTransaction(pool, async client => {
    await client.query('select pg_advisory_xact_lock($1)', [MIGRATION_LOCK])
    // Before any migration: a refused database is left exactly as it was.
    await checkSchema(client)
    await client.query(
      'create table if not exists offerstream_migrations (version integer primary key, name text not null, applied_at timestamptz not null default now())',
    )
    const { rows } = await client.query<{ version: number }>('select version from offerstream_migrations')
    const done = new Set(rows.map(r => r.version))
    for (const m of listMigrations()) {
      if (done.has(m.version)) continue
      await client.query(m.sql)
      await client.query('insert into offerstream_migrations (version, name) values ($1, $2)', [m.version, m.name])
      applied.push(m.name)
    }
  })
  return applied
}
