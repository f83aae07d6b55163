import { settingsHelp } from '../config/load-config.ts'

const COMMANDS: Record<string, string> = {
  run: `offerstream run [flags]
  Runs the service. Uses KAFKA_BROKERS and DATABASE_URL when set; when neither is set it starts (or
  reuses) the embedded local stack, which keeps running after the service stops.`,
  stack: `offerstream stack up|down|status [--brokers 1|3] [--stack-dir DIR]
  Local Kafka (KRaft; one node, or with --brokers 3 a 3-node cluster with replication factor 3) and
  PostgreSQL in the background. 'up' prints the KAFKA_BROKERS and DATABASE_URL to export; 'down' stops
  everything; data stays in the stack dir.`,
  migrate: `offerstream migrate [flags]
  Creates or upgrades the schema in DATABASE_URL (idempotent).`,
  prune: `offerstream prune --older-than 30d [--feedback-too] [--batch 10000] [--dry-run] [--json] [flags]
  Deletes the bookkeeping of campaigns that ended before the cut-off (events, fan-out ranges, rejects
  already in the DLQ), one batch per transaction, keeping re-sends exact; --feedback-too also deletes
  their subscribers_feedback rows (a re-send then reaches those clients again). Reads the relay's
  cursor from Kafka: nothing unpublished is touched. Safe while the service runs.`,
  demo: `offerstream demo [flags]
  Seeds the sample subscribers, publishes sample campaigns (active, early, expired, malformed), runs the
  service and prints the push messages, feedback rows and DLQ records that result.`,
  report: `offerstream report [--restaurant ID] [--since 7d] [--json] [flags]
  Per-campaign pushes and feedback (distinct users per kind, response rate, time to first feedback) of
  the campaigns running since the given time (90m, 12h, 7d, 2w), of one restaurant or all; --json for
  machine-readable output. Reads DATABASE_URL only.`,
}

export function usage(command?: string): string {
  const head =
    command && COMMANDS[command]
      ? COMMANDS[command]
      : `offerstream — real-time promo fan-out from Kafka to push messages and feedback rows

Commands:
${Object.values(COMMANDS)
  .map(c => '  ' + c.split('\n')[0])
  .join('\n')}

Run 'offerstream <command> --help' for one command.`
  return `${head}

Settings (flag, environment variable, meaning [default]); also a JSON file via --config FILE or OFFERSTREAM_CONFIG:
${settingsHelp()}
`
}
