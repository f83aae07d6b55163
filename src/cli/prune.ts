import { capsOf } from '../config/load-config.ts'
import { parseDuration } from '../core/duration.ts'
import { ErrorCodes, OfferstreamError } from '../errors.ts'
import { publishedCursors } from '../kafka/published-cursor.ts'
import { createPool } from '../pg/pool.ts'
import { prunePreview } from '../pg/sql/prune-preview.ts'
import { pruneBookkeeping } from '../service/retention.ts'
import type { EmbeddedServices } from './dev-tools.ts'
import { configWithServices } from './services.ts'

interface PruneArgs {
  olderThan: number
  /** Cancels are kept at least this long after they were committed (and never shorter than olderThan). */
  cancelsOlderThan: number
  batch: number
  feedbackToo: boolean
  dryRun: boolean
  json: boolean
  rest: string[]
}

const bad = (m: string) => new OfferstreamError(ErrorCodes.CONFIG_INVALID, m)
// A cancel of a campaign never received says nothing of when that campaign ends, so no campaign end
// bounds how long it is needed; a year is the default horizon (docs/operations.md, "Retention of campaign rows").
const DEFAULT_CANCELS_OLDER_THAN = 365 * 86400

function parsePruneArgs(argv: string[]): PruneArgs {
  const a: PruneArgs = {
    olderThan: -1,
    cancelsOlderThan: DEFAULT_CANCELS_OLDER_THAN,
    batch: 10000,
    feedbackToo: false,
    dryRun: false,
    json: false,
    rest: [],
  }
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined]
    const value = () => inline ?? argv[++i] ?? ''
    if (flag === '--older-than') {
      const v = value()
      const s = parseDuration(v)
      if (s === null) throw bad(`invalid --older-than ${JSON.stringify(v)}: expected a duration such as 30d, 12h, 90m`)
      a.olderThan = s
    } else if (flag === '--cancels-older-than') {
      const v = value()
      const s = parseDuration(v)
      if (s === null) throw bad(`invalid --cancels-older-than ${JSON.stringify(v)}: expected a duration such as 365d, 90d`)
      a.cancelsOlderThan = s
    } else if (flag === '--batch') {
      const v = value()
      if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 1_000_000) throw bad(`invalid --batch ${JSON.stringify(v)}: expected 1..1000000`)
      a.batch = Number(v)
    } else if (flag === '--feedback-too') a.feedbackToo = true
    else if (flag === '--dry-run') a.dryRun = true
    else if (flag === '--json') a.json = true
    else a.rest.push(argv[i]!)
  }
  if (a.olderThan < 0) throw bad('--older-than is required, e.g. offerstream prune --older-than 30d')
  return a
}

/**
 * `offerstream prune`: deletes the bookkeeping (events, fan-out ranges, campaign rows, published
 * rejects) of campaigns that ended longer ago than --older-than (a cancel stays at least
 * --cancels-older-than); with --feedback-too also their subscribers_feedback rows. Safe while the service runs; see docs/design.md, "Retention".
 */
export async function runPrune(argv: string[], embedded: EmbeddedServices): Promise<void> {
  const a = parsePruneArgs(argv)
  const config = await configWithServices(a.rest, m => process.stderr.write(`${m}\n`), embedded)
  const pool = createPool(config.databaseUrl, 1)
  try {
    const published = await publishedCursors(config)
    const cutoff = Math.floor(Date.now() / 1000) - a.olderThan
    const cancelCutoff = Math.min(cutoff, Math.floor(Date.now() / 1000) - a.cancelsOlderThan)
    const report = a.dryRun
      ? {
          dryRun: true,
          cutoff,
          cancelCutoff,
          published,
          ...(await prunePreview(pool, {
            cutoff,
            cancelCutoff,
            pushCursors: published.map(c => c.push),
            dlqCursors: published.map(c => c.dlq),
          })),
        }
      : await pruneBookkeeping(pool, { cutoff, cancelCutoff, published, batch: a.batch, feedbackToo: a.feedbackToo, caps: capsOf(config) })
    if (a.json) process.stdout.write(`${JSON.stringify(report)}\n`)
    else {
      const parts = Object.entries(report).map(([k, v]) => `${k}=${typeof v === 'object' && v !== null ? JSON.stringify(v) : v}`)
      process.stdout.write(`prune${a.dryRun ? ' (dry run, nothing deleted)' : ''}: ${parts.join(' ')}\n`)
    }
  } finally {
    await pool.end()
  }
}
