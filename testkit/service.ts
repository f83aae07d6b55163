import type { Config } from '../src/config/settings.ts'
import { type Service, startService } from '../src/service/app.ts'
import { createLogger } from '../src/service/logger.ts'

export async function runService(config: Config): Promise<Service> {
  return startService(config, createLogger(config.logLevel))
}

/**
 * Polls fn until it returns true or the time is up; returns the last value of fn. The deadline only
 * bounds a failing test, so it is generous: a loaded machine must not fail a correct run.
 */
export async function eventually(fn: () => Promise<boolean>, timeoutMs = 60000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await fn()) return true
    if (Date.now() > deadline) return false
    await new Promise(r => setTimeout(r, 100))
  }
}
