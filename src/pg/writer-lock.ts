import type pg from 'pg'

// Every transaction that writes subscribers_feedback or offerstream_rejects holds this lock until it
// commits. Ids then become visible in id order, which is what lets the relay keep a single "last id
// published" cursor, and two instances can never fan out the same campaign at once.
const WRITER_LOCK = 7_304_002

export async function takeWriterLock(client: pg.ClientBase): Promise<void> {
  await client.query({ name: 'offerstream_writer_lock', text: 'select pg_advisory_xact_lock($1)', values: [WRITER_LOCK] })
}
