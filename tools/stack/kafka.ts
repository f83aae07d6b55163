import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { Admin } from '@platformatic/kafka'
import { java, jvmArgs, type KafkaSpec, log4j2Properties, serverProperties } from './kafka-config.ts'
import { ensureKafkaJars } from './kafka-jars.ts'
import { ensureFormatted } from './kafka-storage.ts'
import { HOST } from './net.ts'
import type { StopPolicy } from './process.ts'

export { clusterSpecs, type KafkaSpec, kafkaLogFile } from './kafka-config.ts'

/** Main class on the command line; also how we recognise our broker after a pid reuse. */
export const KAFKA_MARKER = 'kafka.Kafka'
/** SIGTERM runs the broker's controlled shutdown (flushes logs, writes clean-shutdown markers). */
export const KAFKA_STOP: StopPolicy = { signal: 'SIGTERM', graceMs: 20_000 }
export const KAFKA_CRASH: StopPolicy = { signal: 'SIGKILL', graceMs: 5_000 }

/**
 * Starts the broker (fetching jars and formatting on first use). Readiness is the
 * caller's job. `detached` makes it outlive this process (for `offerstream stack up`).
 */
export async function spawnKafka(spec: KafkaSpec, opts: { detached: boolean; log?: (msg: string) => void }): Promise<ChildProcess> {
  const libs = await ensureKafkaJars(opts.log)
  // Rewritten on every start: the ports may differ from the last `stack up`.
  await fs.mkdir(spec.dir, { recursive: true })
  const props = path.join(spec.dir, 'server.properties')
  await fs.writeFile(props, serverProperties(spec))
  await fs.writeFile(path.join(spec.dir, 'log4j2.properties'), log4j2Properties(spec))
  await ensureFormatted(spec, libs)
  // stdout/stderr only carry JVM-level noise (log4j goes to server.log); keep it for post-mortems.
  const outFd = openSync(path.join(spec.dir, 'kafka.out'), 'a')
  try {
    const child = spawn(java(), [...jvmArgs(spec, libs), KAFKA_MARKER, props], {
      stdio: ['ignore', outFd, outFd],
      detached: opts.detached,
    })
    child.once('error', () => {}) // surfaces as an early exit to the readiness wait
    return child
  } finally {
    closeSync(outFd)
  }
}

/**
 * One readiness probe: a real metadata round trip, all `brokers` nodes of the cluster registered,
 * and every partition has a leader (right after a restart they briefly do not, and produce would fail).
 */
export async function kafkaAnswers(port: number, brokers = 1): Promise<boolean> {
  const admin = new Admin({
    clientId: 'offerstream-stack-probe',
    bootstrapBrokers: [`${HOST}:${port}`],
    retries: 0,
    timeout: 3_000,
    connectTimeout: 1_000,
  })
  try {
    // Internal topics excluded: metadata() on them throws inside @platformatic/kafka 2.12.1.
    const topics = await admin.listTopics()
    const meta = await admin.metadata({ topics, forceUpdate: true })
    if (meta.brokers.size < brokers) return false
    for (const topic of meta.topics.values()) {
      if (topic.partitions.some(p => p.leader < 0)) return false
    }
    return true
  } finally {
    await admin.close().catch(() => {})
  }
}
