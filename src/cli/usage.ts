import { settingsHelp } from '../config/load-config.ts'
import type { DevCommand } from './dev-tools.ts'

const PRODUCT: Record<string, string> = {
  run: `offerstream run [flags]
  Runs the service. Uses KAFKA_BROKERS and DATABASE_URL when set; when neither is set it starts (or
  reuses) the embedded local stack, which keeps running after the service stops.`,
  migrate: `offerstream migrate [flags]
  Checks existing tables, then creates or upgrades the schema in DATABASE_URL (idempotent).`,
  prune: `offerstream prune --older-than 30d [--cancels-older-than 365d] [--feedback-too] [--batch 10000] [--dry-run] [--json] [flags]
  Deletes the bookkeeping of campaigns that ended before the cut-off (events, fan-out ranges, campaign
  rows, rejects already in the DLQ), one batch per transaction, keeping re-sends exact; a cancel is
  kept at least --cancels-older-than after it was committed (never less than --older-than, so that it
  still stops a campaign that arrives late); --feedback-too also deletes
  their subscribers_feedback rows (a re-send then reaches those clients again). Reads the relay's
  cursor from Kafka: nothing unpublished is touched. Safe while the service runs.`,
  report: `offerstream report [--restaurant ID] [--since 7d] [--json] [flags]
  Per-campaign pushes and feedback (distinct users per kind, response rate, time to first feedback) of
  the campaigns running since the given time (90m, 12h, 7d, 2w), of one restaurant or all; --json for
  machine-readable output. Reads DATABASE_URL only.`,
}

/** All commands (or one, if known), then every setting. */
export function usage(dev: Record<string, DevCommand>, command?: string): string {
  const all: Record<string, string> = { ...PRODUCT, ...Object.fromEntries(Object.entries(dev).map(([name, c]) => [name, c.usage])) }
  const head =
    command && Object.hasOwn(all, command)
      ? all[command]
      : `offerstream — real-time promo fan-out from Kafka to push messages and feedback rows

Commands:
${Object.values(all)
  .map(c => `  ${c.split('\n')[0]}`)
  .join('\n')}

Run 'offerstream <command> --help' for one command.`
  return `${head}

Settings (flag, environment variable, meaning [default]); also a JSON file via --config FILE or OFFERSTREAM_CONFIG:
${settingsHelp()}
`
}
