import type pg from 'pg'

// The timeline a server writes on: it changes when a standby is promoted (a failover) or a backup is
// restored to a point in time, the two ways a database can come back behind what was committed.
// Read from the name of the current WAL file (its first 8 hex digits), which needs no privilege.
const SQL = `select case when pg_is_in_recovery() then 'standby' else substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) end as timeline`

export async function currentTimeline(db: pg.Pool | pg.ClientBase): Promise<string> {
  const { rows } = await db.query<{ timeline: string }>(SQL)
  return rows[0]!.timeline
}

/**
 * Checks every new connection of the pool against the timeline the start-up check saw. The check is
 * the connection's first statement, and on a change the connection is ended from inside the
 * check's own callback, before pg sends the statement queued behind it: nothing a writer or relay
 * asked for runs on a database that may have gone back in time. `onChange` decides the rest (the
 * service stops, and its next start checks and repairs: src/service/regression-check.ts).
 */
export function watchTimeline(pool: pg.Pool, expected: string, onChange: (seen: string) => void): void {
  pool.on('connect', client => {
    client.query(SQL, (error: Error | null, result: pg.QueryResult<{ timeline: string }> | undefined) => {
      const seen = error ? undefined : result?.rows[0]?.timeline
      if (seen === undefined || seen === expected) return
      void client.end().catch(() => {})
      onChange(seen)
    })
  })
}
