import type { Db } from '../db.ts'

// One lock for every fan-out transaction that checks the frequency caps, whatever its shard: the
// caps' serialisation point. Campaigns are sharded by campaign id but a cap is per client across
// campaigns, so two shards' transactions can reach the same client at once. Held from before the
// transaction's first chunk statement to its commit, it makes each chunk's snapshot hold every push
// committed anywhere, so a plain read of offerstream_cap_pushes is exact and no row is locked.
// Measured against the alternatives with bench/cap-statements.ts (docs/frequency-cap.md): per-client
// rows upserted with ON CONFLICT DO UPDATE are exact alone, but a writer transaction runs up to 64
// chunk statements whose client order restarts with each one, so transactions of different shards
// deadlocked (73 in 68 s, 685 pairs/s); with this lock added they were still ~3x the cost of this
// read-and-append. Taken after the shard lock by every holder, so the two never wait in opposite orders.
const CAP_LOCK = 7_304_003

export async function lockCaps(client: Db): Promise<void> {
  await client.query({ name: 'offerstream_cap_lock', text: 'select pg_advisory_xact_lock($1)', values: [CAP_LOCK] })
}
