import type { Db } from '../db.ts'

// A cancel becomes no event row, so the input positions the failover check reads (events, rejects,
// floors: input-positions.ts) would end before a partition's trailing cancels, and a restart would
// take a healthy database for one that lost them (seen in `chaos --scenario controls`). Each
// partition's newest cancel raises its 'input' floor instead (never lowers it).
const SQL = `
insert into offerstream_floors (kind, topic, part, position)
select 'input', t, p, max(o) from unnest($1::text[], $2::int[], $3::bigint[]) c(t, p, o) group by t, p
on conflict (kind, topic, part) do update set position = greatest(offerstream_floors.position, excluded.position)`

/** Records the input positions of stored cancels; run after they are stored and before their offsets are committed. */
export async function recordCancelPositions(db: Db, cancels: Array<{ topic: string; partition: number; offset: string }>): Promise<void> {
  if (cancels.length === 0) return
  await db.query({
    name: 'offerstream_record_cancel_positions',
    text: SQL,
    values: [cancels.map(c => c.topic), cancels.map(c => c.partition), cancels.map(c => c.offset)],
  })
}
