import pg from 'pg'
import { SHARD_CHANNEL } from './sql/notify-shards.ts'

const RECONNECT_MS = 1000

/**
 * Listens for "shard p has new work" from any instance's ingest stage (sql/notify-shards.ts) on a
 * connection of its own, reconnecting after a loss. A notification missed while disconnected costs
 * latency only: every shard writer also re-checks on its own every OFFERSTREAM_SCHEDULER_MAX_SLEEP_MS.
 */
export function listenForShardWork(databaseUrl: string, onShard: (shard: number) => void): { close: () => Promise<void> } {
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
      const shard = Number(n.payload)
      if (Number.isInteger(shard)) onShard(shard)
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
