import type { Config } from '../config/settings.ts'
import { campaignStateAt } from '../core/activity.ts'
import type { SettableState } from '../core/campaign-state.ts'
import type { ShardWork } from '../core/shard-work.ts'
import { OfferstreamError } from '../errors.ts'
import type { Metrics } from '../metrics/metrics.ts'
import { type ChunkDone, fanOutRound, type RoundResult } from './fan-out-round.ts'
import type { Logger } from './logger.ts'
import { Loop, type Stoppable } from './loop.ts'
import type { Clock, WriterStore, WriterTx } from './ports.ts'
import type { SmallCampaigns } from './small-campaigns.ts'
import type { Unpublished } from './unpublished.ts'

/** What an ingest stage stored for the shard, as far as the writer is concerned. */
export type WakeHint = Pick<ShardWork, 'fanning' | 'pendingStart'>

const earliest = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b))

type WriterConfig = Pick<Config, 'activeMarginSeconds' | 'fanoutChunk' | 'schedulerMaxSleepMs' | 'retryMaxDelayMs'>

export interface WriterDeps {
  store: WriterStore
  config: WriterConfig
  log: Logger
  metrics: Metrics
  clock: Clock
  /** Called after a commit that wrote something the relay must publish. */
  onWritten: () => void
  /** Shared by the instance's shard writers: how many fan-out transactions run at once. */
  turns?: { take(): Promise<() => void>; tryTake(): (() => void) | undefined }
  /** The shard's rows not yet published: a big campaign's later chunks wait while it is full. */
  unpublished?: Unpublished
  /** Shared by the instance's shard writers: told of every small campaign written (big fan-outs then yield). */
  smallCampaigns?: SmallCampaigns
}

/**
 * One shard's PostgreSQL side: promotes the shard's campaigns whose start has come and fans them out
 * chunk by chunk. Every step is one transaction under the shard's lock, checked against the owner's
 * epoch: once another instance takes the shard, run() ends with SHARD_LOST before writing a row.
 * Campaigns arrive through the ingest stage (any instance), which wakes the owner.
 */
export class Writer implements Stoppable {
  #d: WriterDeps
  #loop: Loop
  #hasFanning = true
  /** Wakes so far: a step that saw no work only concludes "idle" if none came while it looked. */
  #wakes = 0
  #nextDue: number | null = null
  #nextDueCheckMs = 0
  #lastFanned = 0
  /** #wakes when a transaction last held a campaign back for the relay; -1: none held. */
  #heldAt = -1
  /** Work offered by the ingest stage for the next transaction (offer()). */
  #offered: Offer | undefined
  /** A campaign was left unfinished by a commit, and the writer has not idled since (bigFanOut). */
  #big = false

  constructor(deps: WriterDeps) {
    this.#d = deps
    this.#loop = new Loop({
      component: 'writer',
      step: () => this.#step(),
      clock: deps.clock,
      log: deps.log,
      metrics: deps.metrics,
      retryMaxDelayMs: deps.config.retryMaxDelayMs,
      retryMessage: 'writer step failed; retrying',
    })
    // The relay caught up some: a held-back campaign may go on (not a wake for new work).
    deps.unpublished?.onRoom(() => this.#loop.wake())
  }

  /** How long the current idle wait lasts unless woken; undefined while working. @internal also used by tests */
  get idleMs(): number | undefined {
    return this.#loop.idleMs
  }

  /** Message of the last failed step, cleared by the next successful one; read by /healthz. */
  get lastError(): string | undefined {
    return this.#loop.lastError
  }

  /**
   * Whether a campaign is being fanned out chunk by chunk here: a joint ingest transaction waits
   * for this shard's lock only while it is not, since a transaction of small campaigns is short and
   * one with a big campaign's chunk is not (the ingest would stall every shard behind it).
   */
  get bigFanOut(): boolean {
    return this.#big
  }

  /** Runs until stopped; rejects with SHARD_LOST once another instance took the shard, or any non-retryable error. */
  run(): Promise<void> {
    return this.#loop.run()
  }

  /** Finishes the step in progress, then stops; whatever was not committed is redone by the next owner. */
  async stop(): Promise<void> {
    await this.#loop.stop()
    this.#refuseOffer()
  }

  /**
   * Runs `first` at the start of the next fan-out transaction, which starts at once: the ingest
   * stage stores a batch of this shard's campaigns that way, so the campaign and its first chunk
   * commit together (one transaction, one WAL flush, no wake in between) instead of one after the
   * other. Only taken while the writer idles and a turn is free, so the caller never waits behind a
   * fan-out; undefined otherwise. Rejects if the transaction fails (the writer retries its own work).
   */
  offer<T>(first: (tx: WriterTx) => Promise<T>): Promise<T> | undefined {
    if (this.#offered || this.#loop.stopping || this.#loop.idleMs === undefined) return undefined
    const turn = this.#d.turns?.tryTake()
    if (this.#d.turns && !turn) return undefined
    return new Promise<T>((resolve, reject) => {
      this.#offered = { first, resolve: resolve as (v: unknown) => void, reject, endTurn: turn }
      this.wake({ fanning: true, pendingStart: null })
    })
  }

  #refuseOffer(): void {
    const offered = this.#offered
    this.#offered = undefined
    offered?.endTurn?.()
    offered?.reject(new OfferstreamError('SHARD_LOST', 'the shard writer stopped before it ran the offered batch'))
  }

  /**
   * The shard may have new work. With a hint (this instance stored it) only what it names is
   * looked at; without one (another instance's notification) both fan-outs and due campaigns are.
   */
  wake(hint?: WakeHint): void {
    this.#wakes++
    if (!hint || hint.fanning) this.#hasFanning = true
    if (!hint) this.#nextDueCheckMs = 0
    else if (hint.pendingStart !== null) this.#nextDue = earliest(this.#nextDue, hint.pendingStart)
    this.#loop.wake()
  }

  /** One step; with nothing to fan out, how long to wait idle (unless woken). */
  async #step(): Promise<number | undefined> {
    const nowMs = this.#d.clock.now()
    const now = Math.floor(nowMs / 1000)
    // An offered batch goes first: its caller, the ingest stage, waits for it. Due checks come next step.
    if (this.#offered) {
      await this.#fanOutOneTransaction()
      return undefined
    }
    if (nowMs >= this.#nextDueCheckMs) {
      // The periodic re-check also looks for fan-outs: one stored by another instance whose
      // notification was lost is found within schedulerMaxSleepMs.
      this.#hasFanning = true
      await this.#promoteDue(now, nowMs)
    } else if (this.#nextDue !== null && now >= this.#nextDue) await this.#promoteDue(now, nowMs)
    if (this.#loop.stopping) return undefined
    this.#d.log.trace({ hasFanning: this.#hasFanning, nextDue: this.#nextDue }, 'writer step')
    if (!this.#hasFanning) return this.#idleWaitMs(nowMs)
    // Only held-back campaigns are left, and no new one came: wait for the relay (or a wake).
    if (this.#heldAt === this.#wakes && this.#room() <= 0) return this.#idleWaitMs(nowMs)
    await this.#fanOutOneTransaction()
    return undefined
  }

  /** How long an idle writer waits for a wake: until the earliest pending start, re-checking at least every schedulerMaxSleepMs. */
  #idleWaitMs(nowMs: number): number {
    const max = this.#d.config.schedulerMaxSleepMs
    if (this.#nextDue === null) return max
    return Math.max(0, Math.min(max, this.#nextDue * 1000 - nowMs))
  }

  /** Pending campaigns whose start has come become fanning, or expired if the rule says their window passed, or cancelled. */
  async #promoteDue(now: number, nowMs: number): Promise<void> {
    const margin = this.#d.config.activeMarginSeconds
    const wakes = this.#wakes
    const { fanning, expired, next } = await this.#d.store.transaction(async tx => {
      const due = await tx.dueCampaigns(now)
      const by: Record<SettableState, number[]> = { fanning: [], expired: [], pending: [], cancelled: [] }
      for (const c of due) by[campaignStateAt(c, now, margin)].push(c.id)
      await tx.setState(by.fanning, 'fanning', now)
      await tx.setState(by.expired, 'expired', now)
      await tx.setState(by.cancelled, 'cancelled', null)
      return { fanning: by.fanning.length, expired: by.expired.length, next: await tx.nextPendingStart() }
    }, this.#loop.signal)
    // A wake during the transaction may name a start it could not see yet: keep the earlier one.
    this.#nextDue = this.#wakes === wakes ? next : earliest(next, this.#nextDue)
    this.#nextDueCheckMs = nowMs + this.#d.config.schedulerMaxSleepMs
    if (fanning > 0) this.#hasFanning = true
    if (expired > 0) this.#d.metrics.campaignsExpired.inc(expired)
    if (fanning + expired > 0) this.#d.log.info({ fanning, expired }, 'scheduled campaigns came due')
  }

  #room(): number {
    return this.#d.unpublished?.room() ?? Number.POSITIVE_INFINITY
  }

  async #fanOutOneTransaction(): Promise<void> {
    const { config } = this.#d
    const now = Math.floor(this.#d.clock.now() / 1000)
    const wakes = this.#wakes
    let exhausted = false
    let held = false
    const offered = this.#offered
    this.#offered = undefined
    const endTurn = offered ? offered.endTurn : await this.#d.turns?.take()
    const startedAt = this.#d.clock.now()
    let firstResult: unknown
    const body = async (tx: WriterTx) => {
      if (offered) firstResult = await offered.first(tx)
      const round = await fanOutRound(tx, {
        nowSeconds: now,
        config,
        room: this.#room(),
        after: () => this.#lastFanned,
        taken: id => {
          this.#lastFanned = id
        },
      })
      exhausted = round.exhausted
      held = round.held
      return round.done
    }
    // The ingest stage waits for an offered batch: it is not kept waiting for the shard's lock
    // either (held by a transaction of a former owner or a DLQ write), it stores the batch itself.
    const results = await (offered
      ? this.#d.store.tryTransaction(body, this.#loop.signal).then(r => (r.ran ? r.result : undefined))
      : this.#d.store.transaction(body, this.#loop.signal)
    )
      .catch(error => {
        offered?.reject(error)
        throw error
      })
      .finally(() => endTurn?.())
    if (!results) {
      offered?.reject(new OfferstreamError('PG_CONFLICT', 'the shard lock is held by another transaction', { retryable: true }))
      return
    }
    // No campaign left fanning (this transaction found none, or finished every one it found): idle,
    // unless a wake came meanwhile — its campaign may have committed after this transaction looked.
    if (exhausted && this.#wakes === wakes) {
      this.#hasFanning = false
      this.#big = false
    }
    this.#heldAt = held ? wakes : -1
    this.#committed(results, startedAt)
    offered?.resolve(firstResult)
  }

  /**
   * A joint ingest transaction (pg/joint-ingest.ts) fanned out new campaigns of this shard and
   * committed: its rows count as ours, and what it left (a campaign not finished, deferred, or not
   * reached) is looked at by the next step.
   */
  fannedOut(round: Pick<RoundResult, 'done' | 'exhausted'>): void {
    this.#committed(round.done, undefined)
    if (round.done.some(d => d.stopped === 'pending')) this.wake()
    else if (!round.exhausted || round.done.some(d => !d.finished)) this.wake({ fanning: true, pendingStart: null })
  }

  /** After a commit: metrics, logs, and the relay told of the rows to publish. */
  #committed(results: ChunkDone[], startedAt: number | undefined): void {
    const { metrics } = this.#d
    if (results.length === 0) return
    if (results.some(r => !r.finished)) this.#big = true
    let inserted = 0
    let suppressed = 0
    for (const result of results) {
      inserted += result.inserted
      suppressed += result.suppressed
      if (result.stopped === 'expired') {
        metrics.campaignsExpired.inc()
        this.#d.log.info({ campaign: result.campaignId }, 'campaign passed end minus margin during fan-out; stopped')
      } else if (result.stopped === 'cancelled') this.#d.log.info({ campaign: result.campaignId }, 'campaign cancelled; fan-out stopped')
      else if (result.stopped === 'pending')
        this.#d.log.info({ campaign: result.campaignId }, 'campaign start moved later; fan-out deferred')
    }
    // A deferred campaign waits for its new start: the next due check must see it.
    if (results.some(r => r.stopped === 'pending')) this.#nextDueCheckMs = 0
    this.#d.log.debug(
      { campaigns: results.length, inserted, txMs: startedAt === undefined ? undefined : this.#d.clock.now() - startedAt },
      startedAt === undefined ? 'joint ingest transaction committed' : 'fan-out transaction committed',
    )
    if (suppressed > 0) metrics.pushesSuppressed.inc(suppressed)
    if (results.some(r => r.small && r.inserted > 0)) this.#d.smallCampaigns?.written()
    if (inserted > 0) {
      this.#d.unpublished?.written(inserted)
      metrics.pushesWritten.inc(inserted)
      this.#d.onWritten()
    }
  }
}

interface Offer {
  first: (tx: WriterTx) => Promise<unknown>
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
  endTurn: (() => void) | undefined
}
