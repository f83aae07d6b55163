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

/**
 * Group timings of the service's consumer groups. Heartbeats at a third of the session at most (once a
 * second at the default 10 s), so two may be lost before the coordinator gives up on a live member; the
 * rebalance timeout (how long a join waits for the members to rejoin) stays at least 20 s and never
 * below the session, which the client requires.
 */
export function groupTimings(config: Pick<Config, 'kafkaSessionTimeoutMs'>) {
  const sessionTimeout = config.kafkaSessionTimeoutMs
  return {
    sessionTimeout,
    heartbeatInterval: Math.min(1000, Math.floor(sessionTimeout / 3)),
    rebalanceTimeout: Math.max(20000, sessionTimeout),
  }
}
