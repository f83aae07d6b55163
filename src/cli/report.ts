import { parseArgs } from 'node:util'
import { loadConfig } from '../config/load-config.ts'
import type { CampaignStats } from '../core/campaign-stats.ts'
import { parseDuration } from '../core/duration.ts'
import { FEEDBACK_KINDS } from '../core/feedback.ts'
import { ErrorCodes, OfferstreamError } from '../errors.ts'
import { translatePgError } from '../pg/pg-errors.ts'
import { createPool } from '../pg/pool.ts'
import { restaurantCampaigns } from '../pg/sql/restaurant-campaigns.ts'
import type { EmbeddedServices } from './dev-tools.ts'
import { configWithServices } from './services.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

const bad = (detail: string) => new OfferstreamError(ErrorCodes.CONFIG_INVALID, detail)

/** `offerstream report [--restaurant ID] [--since 7d] [--json] [settings]`: campaign statistics from PostgreSQL. */
export async function runReport(argv: string[], embedded: EmbeddedServices, nowSeconds = Math.floor(Date.now() / 1000)): Promise<void> {
  const { values: o, tokens } = parseArgs({
    args: argv,
    options: { restaurant: { type: 'string' }, since: { type: 'string', default: '7d' }, json: { type: 'boolean', default: false } },
    strict: false,
    tokens: true,
  })
  const mine = new Set(['restaurant', 'since', 'json'])
  // Everything else is a setting (--database-url, --config ...), validated by the settings loader.
  const rest = tokens.flatMap(t =>
    t.kind === 'option' && !mine.has(t.name)
      ? [t.rawName, ...(t.value !== undefined ? [t.value] : [])]
      : t.kind === 'positional'
        ? [t.value]
        : [],
  )
  const restaurant = typeof o.restaurant === 'string' ? o.restaurant : undefined
  if (restaurant !== undefined && !UUID.test(restaurant))
    throw bad(`invalid --restaurant: expected a UUID, got ${JSON.stringify(restaurant)}`)
  const since = parseDuration(String(o.since))
  if (since === null) throw bad(`invalid --since: expected a duration like 90m, 12h, 7d or 2w, got ${JSON.stringify(o.since)}`)
  const env = loadConfig({ argv: rest })
  const config = env.databaseUrl ? env : await configWithServices(rest, m => process.stderr.write(`${m}\n`), embedded)
  const pool = createPool(config.databaseUrl, 1)
  try {
    const stats = await restaurantCampaigns(pool, { restaurantId: restaurant?.toLowerCase(), sinceSeconds: nowSeconds - since }).catch(
      error => {
        throw translatePgError(error)
      },
    )
    process.stdout.write(
      o.json ? `${JSON.stringify(stats, null, 2)}\n` : reportTable(stats, { restaurant, sinceSeconds: nowSeconds - since }),
    )
  } finally {
    await pool.end()
  }
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`
const secs = (x: number | null) => (x === null ? '-' : x < 100 ? `${x.toFixed(1)}s` : `${Math.round(x)}s`)
const day = (s: number) => new Date(s * 1000).toISOString().slice(0, 16).replace('T', ' ')

/** A plain-text table, one campaign a row, and a total over them. */
function reportTable(stats: CampaignStats[], o: { restaurant?: string; sinceSeconds: number }): string {
  const title = `campaigns ${o.restaurant ? `of restaurant ${o.restaurant} ` : ''}running since ${day(o.sinceSeconds)} UTC: ${stats.length}`
  if (stats.length === 0) return `${title}\n`
  const head = [
    'campaign',
    ...(o.restaurant ? [] : ['restaurant']),
    'start (UTC)',
    'version (UTC)',
    'status',
    'pushed',
    'capped',
    ...FEEDBACK_KINDS,
    'responded',
    'rate',
    'first p50',
  ]
  const rows = stats.map(s => [
    s.campaignId,
    ...(o.restaurant ? [] : [s.restaurantId]),
    s.start === null ? '-' : day(s.start),
    s.version === null ? '-' : `${day(s.version)}${s.versions > 1 ? ` (${s.versions})` : ''}`,
    s.status,
    String(s.pushed),
    String(s.suppressed),
    ...FEEDBACK_KINDS.map(k => String(s.feedback[k])),
    String(s.responded),
    pct(s.responseRate),
    secs(s.firstFeedbackSeconds.p50),
  ])
  const sum = (f: (s: CampaignStats) => number) => stats.reduce((a, s) => a + f(s), 0)
  const pushed = sum(s => s.pushed)
  const responded = sum(s => s.responded)
  rows.push([
    'total',
    ...(o.restaurant ? [] : ['']),
    '',
    '',
    '',
    String(pushed),
    String(sum(s => s.suppressed)),
    ...FEEDBACK_KINDS.map(k => String(sum(s => s.feedback[k]))),
    String(responded),
    pct(pushed > 0 ? responded / pushed : 0),
    '',
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map(r => r[i]?.length ?? 0)))
  // Text columns left-aligned, numbers right-aligned.
  const textCols = o.restaurant ? 4 : 5
  const line = (r: string[]) =>
    r
      .map((c, i) => (i < textCols ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  return [title, '', line(head), line(widths.map(w => '-'.repeat(w))), ...rows.map(line), ''].join('\n')
}
