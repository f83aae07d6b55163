// The test suite in two layers, stopping at the first that fails:
//   unit         test/unit: pure logic, the loops on fakes, error translators. No Kafka, no PostgreSQL:
//                it runs with KAFKA_BROKERS and DATABASE_URL unset, so a test that needs them fails here.
//   integration  everything else, against a real Kafka and PostgreSQL: KAFKA_BROKERS/DATABASE_URL when
//                both are set, otherwise a throwaway local stack started for the layer and stopped after.
// `npm test` runs both (what CI runs), `npm run test:unit` the first alone. Arguments: `unit` or
// `integration` for one layer, or test files/globs, each run in its layer (the stack only if needed).
import { spawn } from 'node:child_process'
import type { Stack } from '../tools/stack/index.ts'

interface Layer {
  name: 'unit' | 'integration'
  files: string[]
  /** Per test; a unit test that takes a minute is hanging. */
  timeoutMs: number
  /**
   * Unit: every file in this one process. A process per file cost 5x the CPU (loading Node and the
   * modules 20-odd times): 29.5 s instead of 4.7 s at load average 17 on the shared 2-core machine.
   * Integration: a process per file, two at a time, so one file's services and timers cannot leak
   * into another's.
   */
  nodeArgs: string[]
}

function layersOf(args: string[]): Layer[] {
  const unit: Layer = { name: 'unit', files: ['test/unit/**/*.test.ts'], timeoutMs: 60_000, nodeArgs: ['--test-isolation=none'] }
  const integration: Layer = {
    name: 'integration',
    files: ['test/integration/**/*.test.ts'],
    timeoutMs: 600_000,
    nodeArgs: ['--test-concurrency=2'],
  }
  if (args.length === 0) return [unit, integration]
  if (args.length === 1 && args[0] === 'unit') return [unit]
  if (args.length === 1 && args[0] === 'integration') return [integration]
  const isUnit = (f: string) => f.replace(/^\.\//, '').startsWith('test/unit/')
  return [
    { ...unit, files: args.filter(isUnit) },
    { ...integration, files: args.filter(f => !isUnit(f)) },
  ].filter(l => l.files.length > 0)
}

function runNodeTest(layer: Layer, env: NodeJS.ProcessEnv): Promise<number> {
  const args = ['--test', ...layer.nodeArgs, `--test-timeout=${layer.timeoutMs}`, ...layer.files]
  const child = spawn(process.execPath, args, { stdio: 'inherit', env })
  return new Promise(resolve => child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))))
}

async function runLayer(layer: Layer): Promise<number> {
  const t0 = Date.now()
  const say = (m: string) => process.stderr.write(`[${layer.name}] ${m}\n`)
  say(`${layer.files.join(' ')}`)
  let code: number
  if (layer.name === 'unit') {
    // spawn leaves out variables whose value is undefined.
    code = await runNodeTest(layer, { ...process.env, KAFKA_BROKERS: undefined, DATABASE_URL: undefined })
  } else {
    const env = { ...process.env }
    let stack: Stack | undefined
    if (!env.KAFKA_BROKERS || !env.DATABASE_URL) {
      // Loaded here: the unit layer needs none of the stack's modules.
      const { startStack } = await import('../tools/stack/index.ts')
      stack = await startStack({ log: m => process.stderr.write(`[stack] ${m}\n`) })
      env.KAFKA_BROKERS = stack.kafkaBrokers
      env.DATABASE_URL = stack.databaseUrl
      say(`stack ready in ${Date.now() - t0} ms`)
    }
    try {
      code = await runNodeTest(layer, env)
    } finally {
      await stack?.stop()
    }
  }
  say(`${code === 0 ? 'passed' : `failed (exit ${code})`} in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  return code
}

for (const layer of layersOf(process.argv.slice(2))) {
  const code = await runLayer(layer)
  if (code !== 0) process.exit(code)
}
