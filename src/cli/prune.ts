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
  batch: number
  feedbackToo: boolean
  dryRun: boolean
  json: boolean
  rest: string[]
}

const bad = (m: string) => new OfferstreamError(ErrorCodes.CONFIG_INVALID, m)

function parsePruneArgs(argv: string[]): PruneArgs {
  const a: PruneArgs = { olderThan: -1, batch: 10000, feedbackToo: false, dryRun: false, json: false, rest: [] }
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined]
    const value = () => inline ?? argv[++i] ?? ''
    if (flag === '--older-than') {
      const v = value()
      const s = parseDuration(v)
      if (s === null) throw bad(`invalid --older-than ${JSON.stringify(v)}: expected a duration such as 30d, 12h, 90m`)
      a.olderThan = s
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
 * `offerstream prune`: deletes the bookkeeping (events, fan-out ranges, published rejects) of
 * campaigns that ended longer ago than --older-than; with --feedback-too also their
 * subscribers_feedback rows. Safe while the service runs; see docs/design.md, "Retention".
 */
export async function runPrune(argv: string[], embedded: EmbeddedServices): Promise<void> {
  const a = parsePruneArgs(argv)
  const config = await configWithServices(a.rest, m => process.stderr.write(`${m}\n`), embedded)
  const pool = createPool(config.databaseUrl, 1)
  try {
    const published = await publishedCursors(config)
    const cutoff = Math.floor(Date.now() / 1000) - a.olderThan
    const report = a.dryRun
      ? {
          dryRun: true,
          cutoff,
          published,
          ...(await prunePreview(pool, { cutoff, pushCursors: published.map(c => c.push), dlqCursors: published.map(c => c.dlq) })),
        }
      : await pruneBookkeeping(pool, { cutoff, published, batch: a.batch, feedbackToo: a.feedbackToo, caps: capsOf(config) })
    if (a.json) process.stdout.write(`${JSON.stringify(report)}\n`)
    else {
      const parts = Object.entries(report).map(([k, v]) => `${k}=${typeof v === 'object' && v !== null ? JSON.stringify(v) : v}`)
      process.stdout.write(`prune${a.dryRun ? ' (dry run, nothing deleted)' : ''}: ${parts.join(' ')}\n`)
    }
  } finally {
    await pool.end()
  }
}
