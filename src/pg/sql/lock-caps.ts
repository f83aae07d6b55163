import type { Db } from '../db.ts'

// One lock for every fan-out transaction that checks the frequency caps, whatever its shard. The
// per-client rows of offerstream_cap_history are what makes the check exact; this lock is what makes
// their row locks deadlock-free. A writer transaction runs up to 64 chunk statements, each locking
// its clients in client order, but the order restarts with every statement: without this lock two
// transactions of different shards reaching the same clients each held rows the other's next
// statement wanted (measured: bench/cap-statements.ts). Taken after the shard lock by every holder,
// so the two never wait for each other in opposite orders.
const CAP_LOCK = 7_304_003

export async function lockCaps(client: Db): Promise<void> {
  await client.query({ name: 'offerstream_cap_lock', text: 'select pg_advisory_xact_lock($1)', values: [CAP_LOCK] })
}
