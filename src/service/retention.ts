import type pg from 'pg'
import { type Caps, capWindow } from '../core/frequency-cap.ts'
import type { RelayCursor } from '../kafka/relay-cursor.ts'
import { translatePgError } from '../pg/pg-errors.ts'
import { capKeepFrom } from '../pg/sql/cap-keep-from.ts'
import { pruneCampaigns } from '../pg/sql/prune-campaigns.ts'
import { pruneEvents } from '../pg/sql/prune-events.ts'
import { pruneFeedbackRows } from '../pg/sql/prune-feedback-rows.ts'
import { pruneRejects } from '../pg/sql/prune-rejects.ts'
import { pruneSuppressed } from '../pg/sql/prune-suppressed.ts'
import { recordFloors } from '../pg/sql/record-floors.ts'

interface PruneOptions {
  /** Campaigns that ended, and rejects received, before this (unix seconds) are pruned. */
  cutoff: number
  /** What each shard's relay has certainly published (index = shard); nothing past it is touched. */
  published: RelayCursor[]
  /**
   * Cancels committed before this (unix seconds) may go with their campaign's row; absent: every
   * cancelled campaign's row is kept (docs/operations.md, "Retention of campaign rows").
   */
  cancelCutoff?: number
  /** Rows per transaction. */
  batch: number
  /** Also delete the subscribers_feedback and offerstream_feedback rows of pruned campaigns (ends their dedup). */
  feedbackToo: boolean
  /**
   * The frequency caps in force: with feedbackToo, pushes a cap window may still compare against
   * stay (an instance that starts reads its cap history from them, src/pg/cap-gate.ts).
   */
  caps?: Caps
}

interface PruneReport {
  cutoff: number
  /** null: cancelled campaigns' rows were all kept. */
  cancelCutoff: number | null
  published: RelayCursor[]
  events: number
  fanouts: number
  /** offerstream_campaigns rows no record can still need. */
  campaigns: number
  rejects: number
  feedbackRows: number
  feedbackRanges: number
  /** offerstream_feedback rows (users' answers) of campaigns whose pushes were all deleted. */
  answers: number
  /** Suppressed pairs deleted (with feedbackToo). */
  suppressed: number
  /** With a cap on and feedbackToo: feedback rows are deleted only for campaigns that ended before this (unix seconds). */
  feedbackCutoff: number
  transactions: number
  seconds: number
}

/**
 * Deletes the bookkeeping of campaigns that ended before the cut-off, in batches that are each one
 * single-statement transaction: the writer only ever waits for a batch, never for the whole run.
 * Finished events first (their fan-out ranges move to offerstream_pruned_fanouts, which keeps
 * re-sends exact), then the campaign rows left without events, then published rejects, then with feedbackToo the old feedback rows. The cut-off
 * and the cursor are fixed for the run, so rerunning after a crash redoes exactly what was left.
 */
export async function pruneBookkeeping(pool: pg.Pool, o: PruneOptions): Promise<PruneReport> {
  const t0 = performance.now()
  const r: PruneReport = {
    cutoff: o.cutoff,
    cancelCutoff: o.cancelCutoff ?? null,
    published: o.published,
    events: 0,
    fanouts: 0,
    campaigns: 0,
    rejects: 0,
    feedbackRows: 0,
    feedbackRanges: 0,
    answers: 0,
    suppressed: 0,
    feedbackCutoff: o.cutoff,
    transactions: 0,
    seconds: 0,
  }
  const push = o.published.map(c => c.push)
  const dlq = o.published.map(c => c.dlq)
  try {
    // The failover check reads how far these tables went; what prune deletes must not look like a regression.
    await recordFloors(pool, { push, dlq })
    for (let after = 0; ; ) {
      const b = await pruneEvents(pool, { after, cutoff: o.cutoff, pushCursors: push, limit: o.batch })
      r.transactions++
      r.events += b.events
      r.fanouts += b.fanouts
      if (b.lastId === null || b.events < o.batch) break
      after = b.lastId
    }
    // After the events: a campaign's row goes only once none of its events is left.
    for (let after = '00000000-0000-0000-0000-000000000000'; ; ) {
      const b = await pruneCampaigns(pool, { after, cutoff: o.cutoff, cancelCutoff: o.cancelCutoff ?? 0, limit: o.batch })
      r.transactions++
      r.campaigns += b.campaigns
      if (b.lastId === null || b.examined < o.batch) break
      after = b.lastId
    }
    for (;;) {
      const n = await pruneRejects(pool, { dlqCursors: dlq, cutoff: o.cutoff, limit: o.batch })
      r.transactions++
      r.rejects += n
      if (n < o.batch) break
    }
    // A campaign's pushes are stamped before its end, so ending before the oldest push a cap window
    // still needs means none of its pushes is needed.
    const window = o.caps ? capWindow(o.caps) : 0
    if (o.feedbackToo && window > 0) r.feedbackCutoff = Math.min(o.cutoff, await capKeepFrom(pool, window))
    while (o.feedbackToo) {
      const b = await pruneFeedbackRows(pool, { cutoff: r.feedbackCutoff, limit: o.batch })
      r.transactions++
      r.feedbackRows += b.rows
      r.feedbackRanges += b.ranges
      r.answers += b.answers
      if (b.ranges === 0) break
    }
    while (o.feedbackToo) {
      const n = await pruneSuppressed(pool, { cutoff: o.cutoff, limit: o.batch })
      r.transactions++
      r.suppressed += n
      if (n < o.batch) break
    }
  } catch (error) {
    throw translatePgError(error)
  }
  r.seconds = Math.round(performance.now() - t0) / 1000
  return r
}
