import type { Db } from '../db.ts'

// Entries of a client's cap history stay this long before the oldest push still possible: room for
// clock differences between the instances that stamp trigger times and PostgreSQL's now().
const CLOCK_SLACK_SECONDS = 3600

/**
 * SQL for the oldest push time the caps still need: a push is only compared with pushes less than
 * a window away, and no push still to come is older than the earliest trigger time of a fan-out in
 * progress, or than now (a fan-out that starts later stamps its own now). `window` is the longest
 * cap window in seconds (an integer, inlined). Shared by the fan-out's trimming and by prune.
 */
export function capKeepFromSql(window: number): string {
  return `(select least(min(trigger_datetime_created), extract(epoch from now())::bigint - ${CLOCK_SLACK_SECONDS}) - ${Math.trunc(window)}
  from offerstream_events where status = 'fanning')`
}

/** The oldest push time the caps still need (capKeepFromSql), read once. */
export async function capKeepFrom(db: Db, window: number): Promise<number> {
  const { rows } = await db.query<{ keep: number }>(`select ${capKeepFromSql(window)} as keep`)
  return rows[0]!.keep
}
