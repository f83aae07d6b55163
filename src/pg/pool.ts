import pg from 'pg'

// int8 and numeric come back as strings by default; ids here stay below 2^53, so numbers are fine
// and spare every caller a conversion.
pg.types.setTypeParser(pg.types.builtins.INT8, v => Number(v))

/** Session settings; the defaults are those of settings.ts (pgConnectTimeoutMs, pgIdleInTransactionTimeoutMs). */
export interface PoolTimeouts {
  connectMs: number
  idleInTransactionMs: number
}

export function createPool(
  databaseUrl: string,
  max = 4,
  timeouts: PoolTimeouts = { connectMs: 5000, idleInTransactionMs: 10000 },
  /** Runs on each new connection before it is handed out; a throw refuses it (db-identity.ts). */
  onConnect?: (client: pg.ClientBase) => Promise<void>,
): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max,
    connectionTimeoutMillis: timeouts.connectMs,
    idleTimeoutMillis: 30000,
    application_name: 'offerstream',
    // A frozen process (SIGSTOP, a long GC pause) inside a shard transaction holds the shard lock;
    // the server ends its session after this long, so the shard's next owner is not blocked for good.
    idle_in_transaction_session_timeout: timeouts.idleInTransactionMs,
    ...(onConnect ? { onConnect } : {}),
  })
  // An idle client losing its connection (database restart) must not crash the process; the next
  // query gets a fresh one.
  pool.on('error', () => {})
  // A checked-out client (a writer transaction) emits 'error' with no pool listener attached when
  // the server goes away: unhandled, that killed the process on every database restart. The same
  // error also fails the client's pending query, which is what the caller acts on (and then
  // releases the client as broken), so the event itself can be ignored.
  pool.on('connect', client => client.on('error', () => {}))
  return pool
}

/** One connection of its own, outside any pool (the frequency caps' lease, src/pg/cap-lease.ts). */
export async function connectClient(databaseUrl: string, connectMs = 5000): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: connectMs, application_name: 'offerstream-caps' })
  await client.connect()
  return client
}
