import type pg from 'pg'

// What the database's client backends were doing during a measured window: pg_stat_activity sampled
// every `everyMs`, as the average number of backends in each state and wait event. Lock:advisory is
// a shard lock waited for, Client:ClientRead inside a transaction is a round trip to the service,
// LWLock/IO waits are the server's own. Idle connections (pool spares, the bench's listeners) are left out.

const SQL = `select state || coalesce(' / ' || wait_event_type || ':' || wait_event, ' / on CPU') as what, count(*)::int as n
  from pg_stat_activity
  where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend' and state <> 'idle'
  group by 1`

export interface PgWaitSampler {
  /** Average backends per state / wait event over the samples taken, largest first. */
  stop(): Promise<Record<string, number>>
}

export function samplePgWaits(pool: pg.Pool, everyMs = 50): PgWaitSampler {
  const totals = new Map<string, number>()
  let samples = 0
  let stopped = false
  const loop = (async () => {
    while (!stopped) {
      const at = Date.now()
      try {
        for (const r of (await pool.query<{ what: string; n: number }>(SQL)).rows) totals.set(r.what, (totals.get(r.what) ?? 0) + r.n)
        samples++
      } catch {
        // A sample lost to a busy pool is just one sample fewer.
      }
      await new Promise(r => setTimeout(r, Math.max(0, everyMs - (Date.now() - at))))
    }
  })()
  return {
    async stop() {
      stopped = true
      await loop
      const avg = [...totals].map(([k, n]) => [k, Math.round((n / Math.max(1, samples)) * 100) / 100] as const)
      return Object.fromEntries(avg.sort((a, b) => b[1] - a[1]))
    },
  }
}
