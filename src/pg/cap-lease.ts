import type pg from 'pg'
import { dropLease, leaseWanted, takeLease, waitOutFence } from './sql/lock-caps.ts'

// A frozen instance (SIGSTOP, a long pause) must not keep the lease from the others for good: its
// lease connection, which polls several times a second while alive, is ended by the server after
// this long without a statement, and the lease goes with it.
const IDLE_SESSION_TIMEOUT_MS = 5000

// A session waiting for the lease does not read its socket: without this check, one whose instance
// closed it (a stop) stays queued, and so "wanted", until the server next looks.
const CONNECTION_CHECK_MS = 500

/**
 * The frequency caps' lease (src/pg/sql/lock-caps.ts) on a connection of its own: a session lock
 * must not live on a pooled connection that other work borrows. The connection goes with the lease:
 * a lost connection is a lost lease, which the writers' fence check finds by its process id.
 */
export class CapLease {
  #connect: () => Promise<pg.Client>
  #client: pg.Client | undefined
  /** Process id of the server session that holds (or last held) the lease. */
  pid = -1

  constructor(connect: () => Promise<pg.Client>) {
    this.#connect = connect
  }

  /** The connection the lease is on, for the holder's own reads (catch-up, prune); undefined when there is none. */
  get db(): pg.Client | undefined {
    return this.#client
  }

  /** Blocks until this instance holds the lease and no transaction of a former holder can still push. */
  async acquire(): Promise<pg.Client> {
    const client = this.#client ?? (await this.#open())
    try {
      await takeLease(client)
      await waitOutFence(client)
      return client
    } catch (error) {
      this.close()
      throw error
    }
  }

  async #open(): Promise<pg.Client> {
    const client = await this.#connect()
    client.on('error', () => this.close())
    try {
      const { rows } = await client.query<{ pid: number }>(
        `select pg_backend_pid() as pid, set_config('idle_session_timeout', '${IDLE_SESSION_TIMEOUT_MS}', false),
           set_config('enable_seqscan', 'off', false),
           set_config('client_connection_check_interval', '${CONNECTION_CHECK_MS}', false)`,
      )
      this.pid = rows[0]!.pid
    } catch (error) {
      await client.end().catch(() => {})
      throw error
    }
    this.#client = client
    return client
  }

  /** Whether another instance waits for the lease (false when the connection is gone: nothing to hand over). */
  async wanted(): Promise<boolean> {
    return this.#client ? leaseWanted(this.#client) : false
  }

  async release(): Promise<void> {
    if (!this.#client) return
    try {
      await dropLease(this.#client)
    } catch {
      this.close()
    }
  }

  close(): void {
    const c = this.#client
    this.#client = undefined
    this.pid = -1
    c?.end().catch(() => {})
  }
}
