#!/usr/bin/env node
// The project runs its TypeScript directly on Node >= 24 (native type stripping). Started by an
// older node (the machine's own), re-run the same command under the Node 24 that npm installed.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import module from 'node:module'
import { fileURLToPath } from 'node:url'

// V8 lets the old generation grow to ~3x its live size before a full collection: a 1M-subscriber
// fan-out peaked at 394 MB RSS with no flags (274-335 MB with a 4 MB semi-space), nearly all of it
// relay transactions' garbage awaiting collection. Collecting when the old generation has doubled
// (--heap-growing-percent=100), with a 16 MB semi-space so that most of a transaction's objects die
// young, measured 212-214 MB at the same speed and service CPU (docs/benchmarks.md, "Memory"); capping the old
// space instead (--max-old-space-size) cost ~1.6x CPU. A flag the caller already gave (same name,
// any value) wins. Only for the service: `bench` and `demo` hold whole workloads.
const NODE_FLAGS = process.argv[2] === 'run' ? ['--max-semi-space-size=16', '--heap-growing-percent=100'] : []
const missing = NODE_FLAGS.filter(f => !process.execArgv.some(a => a.startsWith(f.slice(0, f.indexOf('=') + 1))))

const major = Number(process.versions.node.split('.')[0])
if (major >= 24 && missing.length > 0) {
  // Same process (same pid, so signals and SIGKILL tests reach the service itself), new V8 heap.
  process.execve(process.execPath, [
    process.execPath,
    ...missing,
    ...process.execArgv,
    fileURLToPath(import.meta.url),
    ...process.argv.slice(2),
  ])
} else if (major >= 24) {
  // Compiled code of our modules and the libraries cached on disk: start-up ~2 s -> ~1.3 s.
  module.enableCompileCache()
  const { main } = await import('../src/cli/main.ts')
  // Product commands live in src/, dev commands (stack, demo, bench) and the embedded-stack fallback
  // of run/migrate in tools/cli: loaded only when a command needs them, so src/ never imports tools/.
  await main(process.argv.slice(2), loadDevTools)
} else {
  const pinned = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url))
  if (!existsSync(pinned)) {
    console.error(`offerstream needs Node >= 24 (this is ${process.version}); run \`npm install\` in the project first`)
    process.exit(1)
  }
  const child = spawn(pinned, [...NODE_FLAGS, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' })
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig))
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
}

/** tools/cli, or, where it or its devDependencies are not installed (the container image), no dev commands. */
async function loadDevTools() {
  try {
    return (await import('../tools/cli/index.ts')).devTools
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error
    const absent = async () => {
      throw new Error('no embedded stack in this installation (production dependencies only): set KAFKA_BROKERS and DATABASE_URL')
    }
    return { commands: {}, embeddedServices: absent }
  }
}
