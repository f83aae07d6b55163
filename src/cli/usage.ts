import { settingsHelp } from '../config/load-config.ts'
import type { DevCommand } from './dev-tools.ts'

const PRODUCT: Record<string, string> = {
  run: `offerstream run [flags]
  Runs the service. Uses KAFKA_BROKERS and DATABASE_URL when set; when neither is set it starts (or
  reuses) the embedded local stack, which keeps running after the service stops.`,
  migrate: `offerstream migrate [flags]
  Creates or upgrades the schema in DATABASE_URL (idempotent).`,
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
