import pg from 'pg'
import { SHARD_CHANNEL } from '../src/pg/sql/notify-shards.ts'

/** Collects the payloads of the shard-work notifications (pg_notify) sent in a database, as they arrive. */
export async function listenForShardNotes(databaseUrl: string): Promise<{ notes: string[]; close(): Promise<void> }> {
  const notes: string[] = []
  const listener = new pg.Client({ connectionString: databaseUrl })
  await listener.connect()
  listener.on('notification', n => notes.push(n.payload ?? ''))
  await listener.query(`listen ${SHARD_CHANNEL}`)
  return { notes, close: () => listener.end() }
}
