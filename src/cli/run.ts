import { checkKafkaClient } from '../kafka/client-check.ts'
import { type Service, startService } from '../service/app.ts'
import { createLogger } from '../service/logger.ts'
import type { EmbeddedServices } from './dev-tools.ts'
import { configWithServices } from './services.ts'

/** `offerstream run`: the long-running service; SIGTERM/SIGINT drain, commit and exit 0. */
export async function runRun(argv: string[], embedded: EmbeddedServices): Promise<void> {
  // Before anything connects: an unpatched client would consume aborted transactions unnoticed.
  await checkKafkaClient()
  const bootLog = createLogger('info')
  const config = await configWithServices(argv, m => bootLog.info(m), embedded)
  const log = createLogger(config.logLevel)
  // Handlers first: a signal that came before them (e.g. just after "offerstream running" was
  // printed) killed the process with the default action instead of draining.
  let service: Service | undefined
  const starting = new AbortController()
  let signals = 0
  const onSignal = (signal: string) => {
    signals++
    if (signals > 1) {
      log.warn({ signal }, 'second signal: exiting without waiting')
      process.exit(1)
    }
    log.info({ signal }, 'stopping: finishing the in-flight step and publishing what is committed')
    if (service) void service.stop().then(() => process.exit(0))
    else starting.abort()
  }
  process.on('SIGTERM', () => onSignal('SIGTERM'))
  process.on('SIGINT', () => onSignal('SIGINT'))
  try {
    service = await startService(config, log, starting.signal)
  } catch (error) {
    if (!starting.signal.aborted) throw error
    log.info('stopped during start-up')
    process.exit(0)
  }
  if (starting.signal.aborted) {
    await service.stop()
    process.exit(0)
  }
  await service.done
}
