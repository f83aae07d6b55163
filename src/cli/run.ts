import { startService } from '../service/app.ts'
import { createLogger } from '../service/logger.ts'
import type { EmbeddedServices } from './dev-tools.ts'
import { configWithServices } from './services.ts'

/** `offerstream run`: the long-running service; SIGTERM/SIGINT drain, commit and exit 0. */
export async function runRun(argv: string[], embedded: EmbeddedServices): Promise<void> {
  const bootLog = createLogger('info')
  const config = await configWithServices(argv, m => bootLog.info(m), embedded)
  const log = createLogger(config.logLevel)
  const service = await startService(config, log)
  let signals = 0
  const onSignal = (signal: string) => {
    signals++
    if (signals > 1) {
      log.warn({ signal }, 'second signal: exiting without waiting')
      process.exit(1)
    }
    log.info({ signal }, 'stopping: finishing the in-flight step and publishing what is committed')
    void service.stop().then(() => process.exit(0))
  }
  process.on('SIGTERM', () => onSignal('SIGTERM'))
  process.on('SIGINT', () => onSignal('SIGINT'))
  await service.done
}
