// `node bench/pg-statements.ts [bench flags]`: the PostgreSQL side of a profile. Starts its own stack
// with pg_stat_statements loaded, runs the bench (default: --only throughput) and prints the
// statements that took the most execution time. This is how the re-send anti-join was found.
import pg from 'pg'
import { startStack } from '../tools/stack/index.ts'
import { runBench } from './main.ts'

const stack = await startStack({ log: m => process.stderr.write(`[stack] ${m}\n`) })
const query = async (sql: string) => {
  const c = new pg.Client({ connectionString: stack.databaseUrl })
  await c.connect()
  try {
    return (await c.query(sql)).rows
  } finally {
    await c.end()
  }
}
try {
  await query("alter system set shared_preload_libraries = 'pg_stat_statements'")
  await stack.stopPostgres()
  await stack.startPostgres()
  await query('create extension pg_stat_statements')
  process.env.KAFKA_BROKERS = stack.kafkaBrokers
  process.env.DATABASE_URL = stack.databaseUrl
  const args = process.argv.slice(2)
  await runBench(args.length ? args : ['--only', 'throughput'])
  console.table(
    await query(`select calls, round(total_exec_time) as total_ms, round((total_exec_time / calls)::numeric, 2) as ms_per_call, rows,
                   round((shared_blks_hit + shared_blks_read)::numeric / calls) as blocks_per_call,
                   left(regexp_replace(query, '\\s+', ' ', 'g'), 100) as statement
                 from pg_stat_statements order by total_exec_time desc limit 15`),
  )
} finally {
  await stack.stop()
}
process.exit(0)
