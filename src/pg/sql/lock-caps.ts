import type pg from 'pg'
import type { Db } from '../db.ts'

// The frequency caps' serialisation point across instances: a lease that one instance holds at a
// time, as a session advisory lock (LEASE) on a connection of its own (src/pg/cap-lease.ts). While
// it holds the lease, that instance's writers decide pairs in memory and insert them concurrently;
// another instance that wants to decide waits for the lease, which the holder hands over as soon as
// it sees a waiter and its own capped transactions have finished. Every capped writer transaction
// also holds FENCE shared to its commit and checks, with FENCE held, that its instance still holds
// the lease; the next holder takes FENCE exclusively before it reads what was pushed, so a
// transaction that began under a lease its instance has since lost (its lease connection died) is
// either waited for or refuses to push. Chosen by measuring (docs/frequency-cap.md).
const LEASE = 7_304_004
const FENCE = 7_304_003

/**
 * In a writer transaction: takes FENCE shared (to the commit), then says whether the lease is still
 * held by the connection with process id `leasePid`. One round trip, and the check runs after the
 * lock is granted (statements of a simple query run in order).
 */
export async function enterCapFence(client: pg.ClientBase, leasePid: number): Promise<boolean> {
  const results = (await client.query(
    `select pg_advisory_xact_lock_shared(${FENCE}); select exists (select 1 from pg_locks where locktype = 'advisory'
       and classid = 0 and objid = ${LEASE} and objsubid = 1 and granted and pid = ${Math.trunc(leasePid)}) as held`,
  )) as unknown as pg.QueryResult<{ held: boolean }>[]
  return results[1]?.rows[0]?.held === true
}

/**
 * In the lease connection, once the lease is granted: waits until no transaction holds FENCE (a
 * former holder's, whose lease connection died while they ran), in a transaction of its own that
 * ends at once. After it, no transaction of another instance can push until this one lets go.
 */
export async function waitOutFence(client: pg.ClientBase): Promise<void> {
  await client.query(`begin; select pg_advisory_xact_lock(${FENCE}); commit`)
}

/** Blocks until this session holds the lease. */
export async function takeLease(client: pg.ClientBase): Promise<void> {
  await client.query(`select pg_advisory_lock(${LEASE})`)
}

export async function dropLease(client: pg.ClientBase): Promise<void> {
  await client.query(`select pg_advisory_unlock(${LEASE})`)
}

/** Whether another session is waiting for the lease. */
export async function leaseWanted(db: Db): Promise<boolean> {
  const { rows } = await db.query<{ wanted: boolean }>(
    `select exists (select 1 from pg_locks where locktype = 'advisory' and classid = 0 and objid = ${LEASE}
       and objsubid = 1 and not granted) as wanted`,
  )
  return rows[0]!.wanted
}
