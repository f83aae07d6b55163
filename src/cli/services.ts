import { loadConfig } from '../config/load-config.ts'
import type { Config } from '../config/settings.ts'
import { ErrorCodes, OfferstreamError } from '../errors.ts'
import type { EmbeddedServices } from './dev-tools.ts'

/**
 * Config for commands that need Kafka and PostgreSQL: both given, or neither (then the embedded
 * stack is started or reused). Only one of the two is a mistake worth stopping for.
 */
export async function configWithServices(argv: string[], log: (m: string) => void, embedded: EmbeddedServices): Promise<Config> {
  const config = loadConfig({ argv })
  const hasKafka = config.kafkaBrokers.length > 0
  const hasDb = config.databaseUrl !== ''
  if (hasKafka && hasDb) return config
  if (hasKafka !== hasDb) {
    const missing = hasKafka ? 'DATABASE_URL (--database-url)' : 'KAFKA_BROKERS (--kafka-brokers)'
    throw new OfferstreamError(
      ErrorCodes.CONFIG_INVALID,
      `invalid setting ${missing}: set both KAFKA_BROKERS and DATABASE_URL, or neither to use the embedded stack`,
    )
  }
  log(`no KAFKA_BROKERS/DATABASE_URL: using the embedded stack in ${config.stackDir} (stop it with 'offerstream stack down')`)
  const up = await embedded(config.stackDir, log)
  return { ...config, kafkaBrokers: [up.kafkaBrokers], databaseUrl: up.databaseUrl }
}
