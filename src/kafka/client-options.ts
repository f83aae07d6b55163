import { readFileSync } from 'node:fs'
import type { Config } from '../config/settings.ts'

// Options shared by every Kafka client the service creates (brokers, TLS, SASL, retries).
export function kafkaBaseOptions(config: Config, role: string) {
  const options: Record<string, unknown> = {
    clientId: `${config.kafkaClientId}-${role}`,
    bootstrapBrokers: config.kafkaBrokers,
    connectTimeout: 5000,
    timeout: 15000,
    // Bounded inside the client; the service's own loop backs off and rebuilds clients above that.
    retries: 3,
    retryDelay: 250,
  }
  if (config.kafkaTls) {
    options.tls = {
      rejectUnauthorized: config.kafkaTlsRejectUnauthorized,
      ...(config.kafkaTlsCaFile ? { ca: readFileSync(config.kafkaTlsCaFile) } : {}),
    }
  }
  if (config.kafkaSaslMechanism) {
    options.sasl = {
      mechanism: config.kafkaSaslMechanism,
      username: config.kafkaSaslUsername,
      password: config.kafkaSaslPassword,
    }
  }
  return options as { clientId: string; bootstrapBrokers: string[] }
}
