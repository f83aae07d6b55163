import type pg from 'pg'
import { ErrorCodes, OfferstreamError } from '../errors.ts'

// The timeline a server writes on: it changes when a standby is promoted (a failover) or a backup is
// restored to a point in time, the two ways a database can come back behind what was committed.
// Read from the name of the current WAL file (its first 8 hex digits), which needs no privilege.
const SQL = `select case when pg_is_in_recovery() then 'standby' else substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) end as timeline`

export async function currentTimeline(db: pg.Pool | pg.ClientBase): Promise<string> {
  const { rows } = await db.query<{ timeline: string }>(SQL)
  return rows[0]!.timeline
}

/**
 * Checks every new pool connection (pg-pool's onConnect hook, which runs before the connection is
 * handed out) against the timeline the start-up check saw. On another timeline the connection is
 * refused with PG_REGRESSION, so nothing a writer or relay asked for runs on a database that may have
 * gone back in time, and `onChange` stops the service: its next start checks PostgreSQL against
 * Kafka before anything is written (src/service/regression-check.ts).
 */
export class TimelineGuard {
  #expected: string | undefined
  #onChange: (seen: string, expected: string) => void

  constructor(onChange: (seen: string, expected: string) => void) {
    this.#onChange = onChange
  }

  /** From now on, connections must be on this timeline. */
  expect(timeline: string): void {
    this.#expected = timeline
  }

  readonly onConnect = async (client: pg.ClientBase): Promise<void> => {
    const expected = this.#expected
    if (expected === undefined) return
    const seen = await currentTimeline(client)
    if (seen === expected) return
    this.#onChange(seen, expected)
    throw new OfferstreamError(
      ErrorCodes.PG_REGRESSION,
      `PostgreSQL is on timeline ${seen}, was ${expected} (a failover or a restore): stopping before anything is written, so the next start checks it against Kafka`,
    )
  }
}
