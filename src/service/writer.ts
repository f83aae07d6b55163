import type { Config } from '../config/settings.ts'
import { stateAt } from '../core/activity.ts'
import type { RuledState } from '../core/campaign-state.ts'
import type { ShardWork } from '../core/shard-work.ts'
import type { Metrics } from '../metrics/metrics.ts'
import { WOKEN } from './clock.ts'
import type { Logger } from './logger.ts'
import type { Clock, WriterStore } from './ports.ts'
import { retry } from './retry.ts'

// Most campaigns fanned out in one transaction, and the smallest chunk worth starting in it.
const MAX_EVENTS_PER_TX = 64
const MIN_CHUNK = 100

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
  turns?: { take(): Promise<() => void> }
}

/**
 * One shard's PostgreSQL side: promotes the shard's campaigns whose start has come and fans them out
 * chunk by chunk. Every step is one transaction under the shard's lock, checked against the owner's
 * epoch: once another instance takes the shard, run() ends with SHARD_LOST before writing a row.
 * Campaigns arrive through the ingest stage (any instance), which wakes the owner.
 */
export class Writer {
  #d: WriterDeps
  #stopping = false
  #wakeRequested = false
  #idleWait: AbortController | undefined
  #hasFanning = true
  /** Wakes so far: a step that saw no work only concludes "idle" if none came while it looked. */
  #wakes = 0
  #nextDue: number | null = null
  #nextDueCheckMs = 0
  #lastFanned = 0
  #stop = new AbortController()
  /** How long the current idle wait lasts unless woken; undefined while working. @internal also used by tests */
  idleMs: number | undefined
  /** Message of the last failed step, cleared by the next successful one; read by /healthz. */
  lastError: string | undefined

  constructor(deps: WriterDeps) {
    this.#d = deps
  }

  async run(): Promise<void> {
    const { config, clock, log, metrics } = this.#d
    try {
      while (!this.#stopping) {
        await retry(() => this.#step(), {
          clock,
          maxDelayMs: config.retryMaxDelayMs,
          signal: this.#stop.signal,
          onRetry: async (e, attempt, delay) => {
            this.lastError = `${e.code}: ${e.message}`
            metrics.retries.inc({ component: 'writer', code: e.code })
            log.warn({ code: e.code, err: e.message, retryInMs: delay, attempt }, 'writer step failed; retrying')
          },
        })
        this.lastError = undefined
      }
    } catch (error) {
      // Stopping cuts a retry short; whatever was not committed is redone by the next owner.
      if (!this.#stopping) throw error
    }
  }

  /** Finishes the step in progress, then stops. */
  stop(): void {
    this.#stopping = true
    this.#stop.abort()
    this.#idleWait?.abort(WOKEN)
  }

  /**
   * The shard may have new work. With a hint (this instance stored it) only what it names is
   * looked at; without one (another instance's notification) both fan-outs and due campaigns are.
   */
  wake(hint?: WakeHint): void {
    this.#wakes++
    this.#wakeRequested = true
    if (!hint || hint.fanning) this.#hasFanning = true
    if (!hint) this.#nextDueCheckMs = 0
    else if (hint.pendingStart !== null) this.#nextDue = earliest(this.#nextDue, hint.pendingStart)
    this.#idleWait?.abort(WOKEN)
  }

  async #step(): Promise<void> {
    const nowMs = this.#d.clock.now()
    const now = Math.floor(nowMs / 1000)
    if (nowMs >= this.#nextDueCheckMs) {
      // The periodic re-check also looks for fan-outs: one stored by another instance whose
      // notification was lost is found within schedulerMaxSleepMs.
      this.#hasFanning = true
      await this.#promoteDue(now, nowMs)
    } else if (this.#nextDue !== null && now >= this.#nextDue) await this.#promoteDue(now, nowMs)
    if (this.#stopping) return
    this.#d.log.trace({ hasFanning: this.#hasFanning, nextDue: this.#nextDue }, 'writer step')
    if (this.#hasFanning) await this.#fanOutOneTransaction()
    else await this.#idle(this.#idleWaitMs(nowMs))
  }

  async #idle(ms: number): Promise<void> {
    if (this.#wakeRequested || this.#stopping) {
      this.#wakeRequested = false
      return
    }
    this.#idleWait = new AbortController()
    this.idleMs = ms
    await this.#d.clock.sleep(ms, this.#idleWait.signal)
    this.idleMs = undefined
    this.#idleWait = undefined
    this.#wakeRequested = false
  }

  /** How long an idle writer waits for a wake: until the earliest pending start, re-checking at least every schedulerMaxSleepMs. */
  #idleWaitMs(nowMs: number): number {
    const max = this.#d.config.schedulerMaxSleepMs
    if (this.#nextDue === null) return max
    return Math.max(0, Math.min(max, this.#nextDue * 1000 - nowMs))
  }

  /** Pending campaigns whose start has come become fanning, or expired if the rule says their window passed. */
  async #promoteDue(now: number, nowMs: number): Promise<void> {
    const margin = this.#d.config.activeMarginSeconds
    const wakes = this.#wakes
    const { fanning, expired, next } = await this.#d.store.transaction(async tx => {
      const due = await tx.dueCampaigns(now)
      const by: Record<RuledState, number[]> = { fanning: [], expired: [], pending: [] }
      for (const c of due) by[stateAt(c.start, c.end, now, margin)].push(c.id)
      await tx.setState(by.fanning, 'fanning', now)
      await tx.setState(by.expired, 'expired', now)
      return { fanning: by.fanning.length, expired: by.expired.length, next: await tx.nextPendingStart() }
    })
    // A wake during the transaction may name a start it could not see yet: keep the earlier one.
    this.#nextDue = this.#wakes === wakes ? next : earliest(next, this.#nextDue)
    this.#nextDueCheckMs = nowMs + this.#d.config.schedulerMaxSleepMs
    if (fanning > 0) this.#hasFanning = true
    if (expired > 0) this.#d.metrics.campaignsExpired.inc(expired)
    if (fanning + expired > 0) this.#d.log.info({ fanning, expired }, 'scheduled campaigns came due')
  }

  async #fanOutOneTransaction(): Promise<void> {
    const { config, metrics } = this.#d
    const now = Math.floor(this.#d.clock.now() / 1000)
    const wakes = this.#wakes
    // Several campaigns share one transaction, up to fanoutChunk rows in all: a commit (one WAL flush,
    // the lock, BEGIN) cost ~10 ms per campaign, which capped the writer at ~70 small campaigns/s and
    // queued them (p50 1.8 s at 100/s). Ranges stay contiguous per chunk and commit in id order.
    let exhausted = false
    const endTurn = await this.#d.turns?.take()
    const startedAt = this.#d.clock.now()
    const results = await this.#d.store
      .transaction(async tx => {
        const done: Array<{ expired: boolean; inserted: number; suppressed: number; campaignId: string; finished: boolean }> = []
        const seen = new Set<number>()
        let budget = config.fanoutChunk
        while (done.length < MAX_EVENTS_PER_TX && budget >= MIN_CHUNK) {
          const event = await tx.nextFanning(this.#lastFanned)
          // Back at a campaign this transaction already took: every fanning campaign had its turn.
          if (!event || seen.has(event.id)) {
            // ...and if each of them finished, nothing is left to fan out.
            exhausted = done.every(d => d.finished)
            break
          }
          seen.add(event.id)
          this.#lastFanned = event.id
          if (stateAt(event.start, event.end, now, config.activeMarginSeconds) === 'expired') {
            await tx.setState([event.id], 'expired', null)
            done.push({ expired: true, inserted: 0, suppressed: 0, campaignId: event.campaignId, finished: true })
            continue
          }
          const r = await tx.fanOutChunk(event, budget)
          // Suppressed pairs are rows too (offerstream_suppressed): they use up the transaction's budget.
          budget -= r.inserted + r.suppressed
          done.push({ ...r, expired: false, campaignId: event.campaignId })
        }
        return done
      })
      .finally(() => endTurn?.())
    // No campaign left fanning (this transaction found none, or finished every one it found): idle,
    // unless a wake came meanwhile — its campaign may have committed after this transaction looked.
    if (exhausted && this.#wakes === wakes) this.#hasFanning = false
    if (results.length === 0) return
    let inserted = 0
    let suppressed = 0
    for (const result of results) {
      inserted += result.inserted
      suppressed += result.suppressed
      if (result.expired) {
        metrics.campaignsExpired.inc()
        this.#d.log.info({ campaign: result.campaignId }, 'campaign passed end minus margin during fan-out; stopped')
      }
    }
    this.#d.log.debug({ campaigns: results.length, inserted, txMs: this.#d.clock.now() - startedAt }, 'fan-out transaction committed')
    if (suppressed > 0) metrics.pushesSuppressed.inc(suppressed)
    if (inserted > 0) {
      metrics.pushesWritten.inc(inserted)
      this.#d.onWritten()
    }
  }
}
