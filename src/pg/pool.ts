import pg from 'pg'

// int8 and numeric come back as strings by default; ids here stay below 2^53, so numbers are fine
// and spare every caller a conversion.
pg.types.setTypeParser(pg.types.builtins.INT8, v => Number(v))

/** onConnect: runs on each new connection before it is handed out; a throw refuses it (db-identity.ts). */
export function createPool(databaseUrl: string, max = 4, onConnect?: (client: pg.ClientBase) => Promise<void>): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30000,
    application_name: 'offerstream',
    // A frozen process (SIGSTOP, a long GC pause) inside a shard transaction holds the shard lock;
    // the server ends its session after this long, so the shard's next owner is not blocked for good.
    idle_in_transaction_session_timeout: 10000,
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
