import pg from 'pg'
import { decodeShardWork, type ShardWork, senderTag } from '../core/shard-work.ts'
import { SHARD_CHANNEL } from './sql/notify-shards.ts'

const RECONNECT_MS = 1000

/**
 * Listens for "shard p has new work" from any instance's ingest stage (sql/notify-shards.ts) on a
 * connection of its own, reconnecting after a loss; skips those `self` sent. A notification missed while disconnected costs
 * latency only: every shard writer also re-checks on its own every OFFERSTREAM_SCHEDULER_MAX_SLEEP_MS.
 */
export function listenForShardWork(
  databaseUrl: string,
  self: string,
  onShard: (shard: number, work?: ShardWork) => void,
): { close: () => Promise<void> } {
  const me = senderTag(self)
  let closed = false
  let client: pg.Client | undefined
  let timer: NodeJS.Timeout | undefined
  const connect = async () => {
    if (closed) return
    const c = new pg.Client({ connectionString: databaseUrl, application_name: 'offerstream-listen' })
    client = c
    let failed = false
    const retry = () => {
      if (failed) return
      failed = true
      c.removeAllListeners()
      c.on('error', () => {})
      c.end().catch(() => {})
      if (!closed && client === c) timer = setTimeout(connect, RECONNECT_MS)
    }
    c.on('error', retry)
    c.on('end', retry)
    c.on('notification', n => {
      const note = decodeShardWork(n.payload ?? '')
      // Our own ingest stage woke its shards in-process, with the same detail, before this arrived.
      if (note && note.sender !== me) onShard(note.shard, note.work)
    })
    try {
      await c.connect()
      await c.query(`listen ${SHARD_CHANNEL}`)
    } catch {
      retry()
    }
  }
  void connect()
  return {
    close: async () => {
      closed = true
      clearTimeout(timer)
      const c = client
      client = undefined
      c?.removeAllListeners()
      c?.on('error', () => {})
      await c?.end().catch(() => {})
    },
  }
}
