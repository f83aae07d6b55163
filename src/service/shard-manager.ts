import { ErrorCodes, type OfferstreamError } from '../errors.ts'
import type { HeldShard } from '../pg/shard-lock.ts'
import type { RoundResult } from './fan-out-round.ts'
import type { Logger } from './logger.ts'
import type { Stoppable } from './loop.ts'
import type { Clock, WriterTx } from './ports.ts'
import { retry } from './retry.ts'
import type { WakeHint } from './writer.ts'

// How often a shard's stop that has not ended yet is logged.
const STOP_WARN_MS = 10_000

/**
 * What the manager runs for one shard: its writer and its relay (src/service/writer.ts, relay.ts).
 * @internal also used by tests
 */
export interface ShardWork {
  writer: Stoppable & {
    run(): Promise<void>
    wake(hint?: WakeHint): void
    readonly lastError: string | undefined
    offer?<T>(first: (tx: WriterTx) => Promise<T>): Promise<T> | undefined
    fannedOut?(round: Pick<RoundResult, 'done' | 'exhausted'>): void
    /** A commit left a campaign unfinished and the writer has not idled since: a joint ingest transaction does not wait for this shard's lock. */
    readonly bigFanOut?: boolean
  }
  relay: Stoppable & { run(): Promise<void>; wake(): void; readonly lastError: string | undefined }
}

export interface ShardManagerDeps {
  /** Raises the shard's epoch for this instance; null when a newer group generation holds it. */
  acquire(shard: number, generation: number, force: boolean): Promise<number | null>
  startShard(shard: number, epoch: number): ShardWork
  log: Logger
  clock: Clock
  retryMaxDelayMs: number
  /** A shard's writer or relay failed with a non-retryable error other than SHARD_LOST. */
  onFatal(error: Error): void
  /** After every change of the shards running here. */
  onOwned?(shards: number[]): void
}

interface Running extends ShardWork {
  shard: number
  epoch: number
  writerDone: Promise<void>
  relayDone: Promise<void>
  stopped?: Promise<void>
}

/**
 * Runs a writer and a relay for every shard the consumer group gave this instance. Assignments are
 * applied one at a time, in order: shards no longer ours are stopped (their in-flight transaction
 * finishes; the new owner's epoch and producer fence anything later), new ones are taken (epoch
 * raised in PostgreSQL, which waits for the old owner's transaction) and started. A shard taken
 * over behind our back (we were frozen past the session) ends with SHARD_LOST and is dropped until
 * the group hands it back.
 */
export class ShardManager implements Stoppable {
  #d: ShardManagerDeps
  #running = new Map<number, Running>()
  #queue: Promise<void> = Promise.resolve()
  #generation = -1
  /** Shards a newer generation held when we tried; retried with force once a heartbeat proves our generation current. */
  #refused = new Set<number>()
  #applying = new AbortController()
  #closed = false

  constructor(deps: ShardManagerDeps) {
    this.#d = deps
  }

  /** The shards running here now. */
  owned(): number[] {
    return [...this.#running.keys()].sort((a, b) => a - b)
  }

  /** For /healthz: the shards owned and the failures their loops are retrying now. */
  health(): { owned: number[]; failing: string[] } {
    const failing: string[] = []
    for (const r of this.#running.values()) {
      if (r.writer.lastError) failing.push(`${r.writer.lastError} (shard ${r.shard} writer)`)
      if (r.relay.lastError) failing.push(`${r.relay.lastError} (shard ${r.shard} relay)`)
    }
    return { owned: this.owned(), failing }
  }

  assign(generation: number, shards: number[]): void {
    // A newer assignment makes a pending one moot: stop retrying its acquisitions.
    this.#applying.abort()
    const applying = new AbortController()
    this.#applying = applying
    this.#enqueue(() => this.#apply(generation, shards, applying.signal))
  }

  /**
   * The group accepted a heartbeat of `generation`, so it is the current one. A shard that a higher
   * generation still holds can only mean the group was deleted and restarted its generations (it
   * is, once empty long enough): take it anyway.
   */
  heartbeat(generation: number): void {
    if (this.#refused.size === 0 || generation !== this.#generation) return
    const shards = [...this.#refused]
    this.#refused.clear()
    const signal = this.#applying.signal
    this.#enqueue(async () => {
      if (generation !== this.#generation) return
      this.#d.log.warn({ shards, generation }, 'shards held by a higher generation of a restarted group; taking them')
      await Promise.all(shards.map(s => this.#take(s, generation, true, signal)))
    })
  }

  /** New work for a shard: wakes its writer (with what this instance stored, if it did) and its relay, if the shard runs here. */
  wake(shard: number, hint?: WakeHint & { rejects: boolean }): void {
    const r = this.#running.get(shard)
    if (!r) return
    if (!hint || hint.fanning || hint.pendingStart !== null) r.writer.wake(hint)
    if (!hint || hint.rejects) r.relay.wake()
  }

  /** Runs `first` in the shard's next fan-out transaction if the shard runs here and its writer takes it now (Writer.offer). */
  offer<T>(shard: number, first: (tx: WriterTx) => Promise<T>): Promise<T> | undefined {
    const r = this.#running.get(shard)
    if (!r || r.stopped || this.#closed) return undefined
    return r.writer.offer?.(first)
  }

  /**
   * Those of the shards that run here and are not stopping, with their epochs, for a joint ingest
   * transaction (pg/joint-ingest.ts): it waits for a shard's lock unless a big fan-out is under way there.
   */
  held(shards: readonly number[]): HeldShard[] {
    if (this.#closed) return []
    return shards.flatMap(shard => {
      const r = this.#running.get(shard)
      return r && !r.stopped ? [{ shard, epoch: r.epoch, wait: !r.writer.bigFanOut }] : []
    })
  }

  /** A joint ingest transaction fanned out new campaigns of the shard and committed: its writer accounts for them (Writer.fannedOut). */
  fannedOut(shard: number, round: Pick<RoundResult, 'done' | 'exhausted'>): void {
    this.#running.get(shard)?.writer.fannedOut?.(round)
  }

  wakeRelays(): void {
    for (const r of this.#running.values()) r.relay.wake()
  }

  /** Stops every shard: writers finish their transaction, then relays publish what is committed until `drain` aborts. */
  async stop(drain?: AbortSignal): Promise<void> {
    this.#closed = true
    this.#applying.abort()
    await this.#queue
    await Promise.all([...this.#running.values()].map(r => this.#stopShard(r, drain)))
  }

  #enqueue(fn: () => Promise<void>): void {
    this.#queue = this.#queue.then(fn).catch(error => this.#d.onFatal(error as Error))
  }

  async #apply(generation: number, shards: number[], signal: AbortSignal): Promise<void> {
    if (this.#closed || signal.aborted) return
    this.#generation = generation
    this.#refused.clear()
    const want = new Set(shards)
    const revoked = [...this.#running.values()].filter(r => !want.has(r.shard))
    await Promise.all(revoked.map(r => this.#stopShard(r)))
    const added = shards.filter(s => !this.#running.has(s))
    await Promise.all(added.map(s => this.#take(s, generation, false, signal)))
    this.#d.log.info(
      { generation, owned: this.owned(), revoked: revoked.map(r => r.shard), added, refused: [...this.#refused] },
      'shard assignment applied',
    )
  }

  async #take(shard: number, generation: number, force: boolean, signal: AbortSignal): Promise<void> {
    const { clock, log, retryMaxDelayMs } = this.#d
    let epoch: number | null
    try {
      epoch = await retry(() => this.#d.acquire(shard, generation, force), {
        clock,
        maxDelayMs: retryMaxDelayMs,
        signal,
        onRetry: (e, attempt, delay) =>
          log.warn({ shard, code: e.code, err: e.message, attempt, retryInMs: delay }, 'taking a shard failed; retrying'),
      })
    } catch (error) {
      if (signal.aborted || this.#closed) return
      throw error
    }
    if (epoch === null) {
      this.#refused.add(shard)
      return
    }
    if (this.#closed || signal.aborted) return
    const work = this.#d.startShard(shard, epoch)
    const r: Running = { ...work, shard, epoch, writerDone: work.writer.run(), relayDone: work.relay.run() }
    this.#running.set(shard, r)
    this.#d.onOwned?.(this.owned())
    const ended = (error: unknown) => {
      if (r.stopped) return
      if ((error as OfferstreamError).code === ErrorCodes.SHARD_LOST) {
        log.warn({ shard, err: (error as Error).message }, 'shard taken over by another instance; stopping our work on it')
        void this.#stopShard(r)
        return
      }
      this.#d.onFatal(error as Error)
    }
    r.writerDone.catch(ended)
    r.relayDone.catch(ended)
  }

  /** Stops one shard; with a drain signal its relay first publishes what is committed (a moved shard's new owner does that instead). */
  #stopShard(r: Running, drain?: AbortSignal): Promise<void> {
    r.stopped ??= (async () => {
      const waiting = { on: 'writer' }
      const quiet = this.#warnWhileStopping(r.shard, waiting)
      try {
        await r.writer.stop()
        waiting.on = 'relay'
        await r.relay.stop(drain)
        waiting.on = 'loops'
        await Promise.all([r.writerDone.catch(() => {}), r.relayDone.catch(() => {})])
      } finally {
        quiet()
      }
      if (this.#running.get(r.shard) === r) this.#running.delete(r.shard)
      this.#d.onOwned?.(this.owned())
    })()
    return r.stopped
  }

  /**
   * A stop waits for the step in flight, and the group's next assignment and the instance's exit
   * wait for the stop: one that takes long says so, with the part it waits for, every
   * STOP_WARN_MS. Returns what ends the warnings.
   */
  #warnWhileStopping(shard: number, waiting: { on: string }): () => void {
    const done = new AbortController()
    void (async () => {
      for (let waitedMs = STOP_WARN_MS; ; waitedMs += STOP_WARN_MS) {
        await this.#d.clock.sleep(STOP_WARN_MS, done.signal)
        if (done.signal.aborted) return
        this.#d.log.warn({ shard, waitingFor: waiting.on, waitedMs }, 'shard still stopping')
      }
    })()
    return () => done.abort()
  }
}
