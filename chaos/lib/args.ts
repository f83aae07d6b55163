import { type Stack, startStack } from '../../tools/stack/index.ts'

/** `--name value` / `--name=value` flags of the chaos scripts, with defaults and a usage line. */
export function parseArgs<T extends Record<string, string>>(argv: string[], defaults: T, usage: string): T {
  const out: Record<string, string> = { ...defaults }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--help' || a === '-h') {
      process.stdout.write(`${usage}\n`)
      process.exit(0)
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a)
    if (!m || !(m[1]! in defaults)) {
      process.stderr.write(`unknown argument ${a}\n${usage}\n`)
      process.exit(2)
    }
    out[m[1]!] = m[2] ?? argv[++i] ?? ''
  }
  return out as T
}

/**
 * Scenarios that stop Kafka or PostgreSQL need a stack of their own (never the shared dev stack);
 * the others use KAFKA_BROKERS/DATABASE_URL when set. Sets both variables for the fixtures.
 */
export async function servicesFor(ownStack: boolean, log: (m: string) => void, brokers = 1): Promise<Stack | undefined> {
  if (!ownStack && process.env.KAFKA_BROKERS && process.env.DATABASE_URL) return undefined
  const t0 = Date.now()
  const stack = await startStack({ brokers, log: m => log(`[stack] ${m}`) })
  process.env.KAFKA_BROKERS = stack.kafkaBrokers
  process.env.DATABASE_URL = stack.databaseUrl
  log(`own stack ready in ${Date.now() - t0} ms`)
  return stack
}

export function say(m: string): void {
  process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${m}\n`)
}
