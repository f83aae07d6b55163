import { migrate } from '../pg/migrate.ts'
import { createPool } from '../pg/pool.ts'
import type { EmbeddedServices } from './dev-tools.ts'
import { configWithServices } from './services.ts'

/** `offerstream migrate`: creates or upgrades the schema. */
export async function runMigrate(argv: string[], embedded: EmbeddedServices): Promise<void> {
  const config = await configWithServices(argv, m => process.stderr.write(`${m}\n`), embedded)
  const pool = createPool(config.databaseUrl, 1)
  try {
    const applied = await migrate(pool)
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'schema is up to date\n')
  } finally {
    await pool.end()
  }
}
