import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { kafkaLibsDir } from '../tools/stack/paths.ts'

const run = promisify(execFile)
const SOURCE = fileURLToPath(new URL('./java/TxProducer.java', import.meta.url))

/**
 * Kafka's own Java producer (bench/java/TxProducer.java, launched from source with the broker's jars,
 * which include kafka-clients): the yardstick for what this machine's broker takes, independent of
 * our Node client. Returns the JSON line it prints.
 */
export async function javaProducer<T>(args: string[]): Promise<T> {
  const { stdout } = await run('java', ['-Xmx1536m', '-cp', `${kafkaLibsDir()}/*`, SOURCE, ...args], { maxBuffer: 16 * 1024 * 1024 })
  const line = stdout.split('\n').find(l => l.startsWith('{'))
  if (!line) throw new Error(`TxProducer printed no result: ${stdout.slice(-2000)}`)
  return JSON.parse(line) as T
}
