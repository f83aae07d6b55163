import { ErrorCodes, OfferstreamError } from '../errors.ts'
import type { EmbeddedServices, LoadDevTools } from './dev-tools.ts'
import { runMigrate } from './migrate.ts'
import { runPrune } from './prune.ts'
import { runReport } from './report.ts'
import { runRun } from './run.ts'
import { usage } from './usage.ts'

const PRODUCT: Record<string, (argv: string[], embedded: EmbeddedServices) => Promise<void>> = {
  run: runRun,
  migrate: runMigrate,
  prune: runPrune,
  report: (argv, embedded) => runReport(argv, embedded),
}

/** The one place that turns a command line into an exit code. Dev tools are loaded only when a command needs them. */
export async function main(args: string[], loadDev: LoadDevTools): Promise<void> {
  const [command, ...rest] = args
  const embedded: EmbeddedServices = async (stackDir, log) => (await loadDev()).embeddedServices(stackDir, log)
  try {
    if (!command || command === '--help' || command === '-h' || command === 'help') {
      process.stdout.write(usage((await loadDev()).commands))
    } else if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(usage((await loadDev()).commands, command))
    } else if (Object.hasOwn(PRODUCT, command)) {
      await PRODUCT[command]!(rest, embedded)
    } else {
      const dev = await loadDev()
      if (!Object.hasOwn(dev.commands, command)) {
        throw new OfferstreamError(ErrorCodes.CONFIG_INVALID, `unknown command "${command}" (see offerstream --help)`)
      }
      await dev.commands[command]!.run(rest)
    }
  } catch (error) {
    process.stderr.write(`offerstream: ${(error as Error).message}\n`)
    const code = error instanceof OfferstreamError ? error.code : undefined
    // 2: restarting cannot help (bad settings, or an unpatched Kafka client).
    const fatal: string[] = [ErrorCodes.CONFIG_INVALID, ErrorCodes.KAFKA_CLIENT_UNPATCHED]
    // 3: PostgreSQL is behind Kafka (docs/pg-failover.md); a supervisor restarting on it gets the start-up check.
    process.exit(code && fatal.includes(code) ? 2 : code === ErrorCodes.PG_REGRESSION ? 3 : 1)
  }
}
