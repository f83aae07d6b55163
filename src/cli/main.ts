import { ErrorCodes, OfferstreamError } from '../errors.ts'
import { runDemo } from './demo.ts'
import { runMigrate } from './migrate.ts'
import { runPrune } from './prune.ts'
import { runReport } from './report.ts'
import { runRun } from './run.ts'
import { runStack } from './stack.ts'
import { usage } from './usage.ts'

// The one place that turns a command line into an exit code.
const [command, ...rest] = process.argv.slice(2)
const wantsHelp = rest.includes('--help') || rest.includes('-h')

try {
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(usage())
  } else if (wantsHelp) {
    process.stdout.write(usage(command))
  } else if (command === 'run') {
    await runRun(rest)
  } else if (command === 'stack') {
    await runStack(rest)
  } else if (command === 'migrate') {
    await runMigrate(rest)
  } else if (command === 'prune') {
    await runPrune(rest)
  } else if (command === 'report') {
    await runReport(rest)
  } else if (command === 'demo') {
    await runDemo(rest)
  } else if (command === 'bench') {
    // The harness lives outside src/ (it generates load, it is not the service); same entry as npm run bench.
    const entry = new URL('../../bench/main.ts', import.meta.url).href
    const bench = (await import(entry)) as { runBench: (argv: string[]) => Promise<void> }
    await bench.runBench(rest)
  } else {
    throw new OfferstreamError(ErrorCodes.CONFIG_INVALID, `unknown command "${command}" (see offerstream --help)`)
  }
} catch (error) {
  const e = error as Error
  process.stderr.write(`offerstream: ${e.message}\n`)
  process.exit(error instanceof OfferstreamError && error.code === ErrorCodes.CONFIG_INVALID ? 2 : 1)
}
