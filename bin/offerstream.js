#!/usr/bin/env node
// The project runs its TypeScript directly on Node >= 24 (native type stripping). Started by an
// older node (the machine's own), re-run the same command under the Node 24 that npm installed.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const major = Number(process.versions.node.split('.')[0])
if (major >= 24) {
  const { main } = await import('../src/cli/main.ts')
  // Product commands live in src/, dev commands (stack, demo, bench) and the embedded-stack fallback
  // of run/migrate in tools/cli: loaded only when a command needs them, so src/ never imports tools/.
  await main(process.argv.slice(2), async () => (await import('../tools/cli/index.ts')).devTools)
} else {
  const pinned = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url))
  if (!existsSync(pinned)) {
    console.error(`offerstream needs Node >= 24 (this is ${process.version}); run \`npm install\` in the project first`)
    process.exit(1)
  }
  const child = spawn(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' })
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig))
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
}
