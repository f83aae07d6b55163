// `npm test`: runs every test against a real Kafka and PostgreSQL. Uses KAFKA_BROKERS/DATABASE_URL
// when both are set; otherwise starts a throwaway local stack for the run and stops it afterwards.
import { spawn } from 'node:child_process'
import { type Stack, startStack } from '../tools/stack/index.ts'

const patterns = process.argv.slice(2)
const files = patterns.length ? patterns : ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts']

let stack: Stack | undefined
const env = { ...process.env }
if (!env.KAFKA_BROKERS || !env.DATABASE_URL) {
  const t0 = Date.now()
  stack = await startStack({ log: m => process.stderr.write(`[stack] ${m}\n`) })
  env.KAFKA_BROKERS = stack.kafkaBrokers
  env.DATABASE_URL = stack.databaseUrl
  process.stderr.write(`[stack] ready in ${Date.now() - t0} ms\n`)
}

const child = spawn(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=600000', ...files], { stdio: 'inherit', env })
const code: number = await new Promise(resolve => child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))))
await stack?.stop()
process.exit(code)
