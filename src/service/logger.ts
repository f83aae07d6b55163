import pino from 'pino'

// Connection strings and passwords never reach the log, whatever object is logged.
const REDACT = [
  'databaseUrl',
  'kafkaSaslPassword',
  'apiToken',
  'password',
  '*.databaseUrl',
  '*.kafkaSaslPassword',
  '*.password',
  'config.databaseUrl',
  'config.kafkaSaslPassword',
  'config.apiToken',
]

export function createLogger(level: string, destination?: pino.DestinationStream) {
  return pino({ level, redact: { paths: REDACT, censor: '<redacted>' }, base: { service: 'offerstream' } }, destination)
}

export type Logger = pino.Logger
