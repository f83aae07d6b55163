import type { Db } from '../db.ts'

// One lock for every fan-out transaction that checks the frequency caps, whatever its shard: the
// caps' serialisation point. Campaigns are sharded by campaign id but a cap is per client across
// campaigns, so two shards' transactions can reach the same client at once. Held from before the
// transaction's first chunk statement to its commit, it makes each chunk's snapshot hold every push
// committed anywhere, so a plain read of offerstream_cap_pushes is exact and no row is locked.
// Chosen by measuring (docs/frequency-cap.md, bench/cap-statements.ts) against per-client rows
// upserted under row locks: alone they deadlocked across shards (a transaction's chunk statements
// each lock in client order, but the order restarts with every statement); with only a
// transaction's first statement allowed to wait they were exact and deadlock-free, but their
// upsert cost more per pair than this read-and-append, and 100 campaigns/s waited longer.
// Taken after the shard lock by every holder, so the two never wait in opposite orders.
const CAP_LOCK = 7_304_003

/**
 * Takes CAP_LOCK, and turns sequential scans off for the rest of the transaction: a chunk probes the
 * push log once per candidate, and a plan made while offerstream_cap_pushes looked empty (analyzed
 * before its first rows) scanned the whole log per candidate (seen in EXPLAIN ANALYZE) until the
 * next autoanalyze. Every statement of a writer transaction is built for index paths anyway.
 */
export async function lockCaps(client: Db): Promise<void> {
  await client.query({
    name: 'offerstream_cap_lock',
    text: "select pg_advisory_xact_lock($1), set_config('enable_seqscan', 'off', true)",
    values: [CAP_LOCK],
  })
}
