import type pg from 'pg'
import { CapHistory, capVerdictOf } from '../core/cap-history.ts'
import { type Caps, capWindow } from '../core/frequency-cap.ts'
import { ErrorCodes, OfferstreamError } from '../errors.ts'
import type { CapLease } from './cap-lease.ts'
import { translatePgError } from './pg-errors.ts'
import { capKeepFrom } from './sql/cap-keep-from.ts'
import { enterCapFence } from './sql/lock-caps.ts'
import { newestPushId, pushesInWindow } from './sql/pushes-in-window.ts'
import { pushesSince } from './sql/pushes-since.ts'
import type { CappedChunk } from './sql/write-capped-chunk.ts'

// How often the holder asks whether another instance waits for the lease: the longest a waiting
// instance's capped fan-out waits on top of the holder's transactions in flight.
const WANTED_POLL_MS = 100
// How often the history drops pushes no window can reach any more.
const PRUNE_EVERY_MS = 60_000

/** A writer transaction's pass through the gate. */
export interface CapView {
  generation: number
}

/**
 * The frequency caps for one instance, shared by its shards' writers. While the instance holds the
 * caps' lease (lock-caps.ts), no other instance pushes, so every push it must compare against is in
 * this in-memory history: each pair is decided by a map lookup, synchronously, and the decided
 * pushes join the history at once, so writers running side by side see each other's. The inserts
 * themselves run concurrently. When another instance waits, the holder stops letting transactions
 * in, waits for those in flight, notes the newest push id and lets go; on taking the lease again it
 * reads only the pushes committed after that id (the others'). A capped transaction that fails
 * leaves the history unsure (its pushes were counted, and it may even have committed), so the
 * instance lets go and reads the whole window again. Measured against one lock per transaction in
 * docs/frequency-cap.md.
 */
export class CapGate {
  readonly caps: Caps
  #lease: CapLease
  #now: () => number
  #history = new CapHistory()
  /** Newest push id the history holds; -1: read the whole window on the next lease. */
  #newestId = -1
  #state: 'idle' | 'acquiring' | 'held' | 'releasing' = 'idle'
  #change: Promise<void> | undefined
  #inFlight = 0
  #drained: (() => void) | undefined
  #generation = 0
  #timer: NodeJS.Timeout | undefined
  #prunedAt = 0
  #closed = false

  constructor(caps: Caps, lease: CapLease, now: () => number = Date.now) {
    this.caps = caps
    this.#lease = lease
    this.#now = now
  }

  /** Pushes held in memory. */
  get size(): number {
    return this.#history.size
  }

  /**
   * Resolves once the instance holds the lease (call before a writer transaction, so it does not wait
   * holding locks). `signal` (the writer's stop) ends the wait: the lease can be held elsewhere for
   * as long as another instance's capped transaction runs, and a shard being handed over or an
   * instance stopping must not wait for that.
   */
  async ready(signal?: AbortSignal): Promise<void> {
    while (this.#state !== 'held') {
      if (this.#closed) throw new OfferstreamError(ErrorCodes.PG_UNAVAILABLE, 'the frequency caps are closed', { retryable: true })
      if (signal?.aborted)
        throw new OfferstreamError(ErrorCodes.SHARD_LOST, 'the shard writer stopped while waiting for the frequency caps lease')
      if (this.#state === 'idle') this.#change = this.#acquire()
      await (signal ? untilAborted(this.#change, signal) : this.#change)
    }
  }

  /** In a writer transaction, before its first capped chunk: holds the fence and checks the lease. */
  async enter(db: pg.ClientBase, signal?: AbortSignal): Promise<CapView> {
    // Counted in the same synchronous step that finds the lease held: a release starting later waits for this transaction.
    do await this.ready(signal)
    while (this.#state !== 'held')
    this.#inFlight++
    const view = { generation: this.#generation }
    let held = false
    try {
      held = await enterCapFence(db, this.#lease.pid)
    } finally {
      if (!held) this.failed(view)
    }
    if (!held) throw new OfferstreamError(ErrorCodes.PG_CONFLICT, 'the frequency caps lease was lost', { retryable: true })
    return view
  }

  /** Splits a chunk's fresh candidates into pushes and suppressions; the pushes count from now on. */
  decide(fresh: readonly string[], at: number, restaurant: string): Pick<CappedChunk, 'admitted' | 'suppressed'> {
    const admitted: string[] = []
    const suppressed: CappedChunk['suppressed'] = []
    const histories = [this.#history]
    for (const client of fresh) {
      const rule = capVerdictOf(histories, client, at, restaurant, this.caps)
      if (rule === null) {
        admitted.push(client)
        this.#history.add(client, at, restaurant)
      } else suppressed.push({ client, rule })
    }
    return { admitted, suppressed }
  }

  committed(_view: CapView): void {
    this.#left()
  }

  /** The transaction failed after enter(): read the history again, under a fresh lease. */
  failed(view: CapView): void {
    if (view.generation === this.#generation) {
      this.#newestId = -1
      this.#generation++
      if (this.#state === 'held') this.#change = this.#release()
    }
    this.#left()
  }

  #left(): void {
    this.#inFlight--
    if (this.#inFlight === 0) this.#drained?.()
  }

  async #acquire(): Promise<void> {
    this.#state = 'acquiring'
    try {
      const db = await this.#lease.acquire()
      if (this.#newestId < 0) {
        const all = await pushesInWindow(db, capWindow(this.caps))
        this.#history = new CapHistory()
        for (const p of all.rows) this.#history.add(p.client, p.at, p.restaurant)
        this.#newestId = all.newestId
      } else {
        for (const p of await pushesSince(db, this.#newestId)) {
          this.#history.add(p.client, p.at, p.restaurant)
          this.#newestId = p.id
        }
      }
      this.#state = 'held'
      this.#timer = setInterval(() => void this.#watch(), WANTED_POLL_MS)
    } catch (error) {
      this.#state = 'idle'
      this.#lease.close()
      // Its writers wait on this: a lost connection must reach them as retryable, like their own queries' errors.
      throw translatePgError(error)
    }
  }

  async #watch(): Promise<void> {
    if (this.#state !== 'held') return
    try {
      if (this.#now() - this.#prunedAt > PRUNE_EVERY_MS && this.#lease.db) {
        this.#prunedAt = this.#now()
        this.#history.prune(await capKeepFrom(this.#lease.db, capWindow(this.caps)))
      }
      if (this.#state === 'held' && (await this.#lease.wanted())) this.#change = this.#release()
    } catch {
      if (this.#state === 'held') this.#change = this.#release()
    }
  }

  /** Lets no transaction in, waits for those in flight, notes where the history stands, and lets go of the lease. */
  async #release(): Promise<void> {
    this.#state = 'releasing'
    clearInterval(this.#timer)
    if (this.#inFlight > 0) await new Promise<void>(resolve => (this.#drained = resolve))
    this.#drained = undefined
    const db = this.#lease.db
    try {
      if (this.#newestId >= 0 && db) this.#newestId = await newestPushId(db)
    } catch {
      this.#newestId = -1
    }
    if (!db) this.#newestId = -1
    await this.#lease.release()
    this.#state = 'idle'
  }

  /** Lets go of the lease (on stop); a wait for it still in flight is ended by closing its connection. */
  async close(): Promise<void> {
    this.#closed = true
    if (this.#state === 'acquiring') this.#lease.close()
    if (this.#state === 'held') this.#change = this.#release()
    await this.#change?.catch(() => {})
    clearInterval(this.#timer)
    this.#lease.close()
  }
}

/** p, or undefined as soon as signal aborts (p goes on; its rejection is then nobody's). */
function untilAborted(p: Promise<void> | undefined, signal: AbortSignal): Promise<void> {
  if (!p) return Promise.resolve()
  p.catch(() => {})
  return new Promise<void>((resolve, reject) => {
    const done = () => resolve()
    signal.addEventListener('abort', done, { once: true })
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', done))
  })
}
