import { loadConfig } from '../../src/config/load-config.ts'
import { ErrorCodes, OfferstreamError } from '../../src/errors.ts'
import { stackDown, stackStatus, stackUp } from '../stack/index.ts'

export async function runStack(argv: string[]): Promise<void> {
  const [action, ...flags] = argv
  const config = loadConfig({ argv: flags })
  const log = (m: string) => process.stderr.write(`${m}\n`)
  if (action === 'up') {
    const up = await stackUp(config.stackDir, log)
    // stdout holds only the exports, so `eval "$(offerstream stack up)"` works.
    process.stdout.write(up.env.endsWith('\n') ? up.env : `${up.env}\n`)
  } else if (action === 'down') {
    await stackDown(config.stackDir, log)
  } else if (action === 'status') {
    const status = await stackStatus(config.stackDir)
    process.stdout.write(status.text.endsWith('\n') ? status.text : `${status.text}\n`)
    process.exitCode = status.running ? 0 : 3
  } else {
    throw new OfferstreamError(ErrorCodes.CONFIG_INVALID, `stack needs up, down or status, got ${JSON.stringify(action ?? '')}`)
  }
}
