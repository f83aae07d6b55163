import { loadConfig } from '../../src/config/load-config.ts'
import { ErrorCodes, OfferstreamError } from '../../src/errors.ts'
import { stackDown, stackStatus, stackUp } from '../stack/index.ts'

/** `--brokers N` belongs to the dev stack, not to the service's settings, so it is taken out here. */
function takeBrokers(flags: string[]): { brokers?: number; rest: string[] } {
  const i = flags.findIndex(f => f === '--brokers' || f.startsWith('--brokers='))
  if (i < 0) return { rest: flags }
  const flag = flags[i] ?? ''
  const inline = flag.startsWith('--brokers=')
  const raw = inline ? flag.slice('--brokers='.length) : flags[i + 1]
  if (raw !== '1' && raw !== '3') {
    throw new OfferstreamError(ErrorCodes.CONFIG_INVALID, `stack --brokers: expected 1 or 3, got ${JSON.stringify(raw ?? '')}`)
  }
  return { brokers: Number(raw), rest: flags.filter((_, j) => j !== i && (inline || j !== i + 1)) }
}

export async function runStack(argv: string[]): Promise<void> {
  const [action, ...all] = argv
  const { brokers, rest: flags } = takeBrokers(all)
  const config = loadConfig({ argv: flags })
  const log = (m: string) => process.stderr.write(`${m}\n`)
  if (action === 'up') {
    const up = await stackUp(config.stackDir, log, { brokers })
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
