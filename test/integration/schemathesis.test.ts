import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { Service } from '../../src/service/app.ts'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'
import { ensureSchemathesisVenv, pythonVenvMissing } from '../../testkit/schemathesis-venv.ts'
import { SEED_EVENT_VALUE, SEED_SUBSCRIBERS } from '../../testkit/seed.ts'
import { runService } from '../../testkit/service.ts'

// The API contract, checked by a client no one here wrote: schemathesis generates requests from
// /openapi.json (whatever operations it lists) and runs every check it has against a running
// service, authenticated with the token. schemathesis.toml (repo root) declares the one rule a
// schema cannot express. Goal: no failure at all.
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const skip = pythonVenvMissing()
const token = randomBytes(16).toString('hex')
let fx: Fixture
let service: Service
let bin: string

before(async () => {
  if (skip) return
  bin = ensureSchemathesisVenv(m => process.stderr.write(`[schemathesis venv] ${m}\n`))
  fx = await createFixture({ OFFERSTREAM_HTTP_ENABLED: 'true', OFFERSTREAM_HTTP_PORT: '0', OFFERSTREAM_API_TOKEN: token })
  await fx.addSubscribers(SEED_SUBSCRIBERS.map(([, c, r]) => [c, r]))
  service = await runService(fx.config)
  // Some data behind the read operations.
  await fx.produce([SEED_EVENT_VALUE])
  await fx.readTopic(fx.config.outputTopic, { atLeast: 9 })
})

after(async () => {
  await service?.stop()
  await fx?.cleanup()
})

test('schemathesis --checks all against /openapi.json: no failure', { skip, timeout: 900000 }, async () => {
  const url = `http://127.0.0.1:${service.httpPort}/openapi.json`
  // Every operation but the schema's own (schemathesis does not test the document it reads).
  const paths = ((await (await fetch(url)).json()) as { paths: Record<string, object> }).paths
  const operations = Object.entries(paths).reduce((n, [path, ops]) => n + (path === '/openapi.json' ? 0 : Object.keys(ops).length), 0)
  // Not spawnSync: the service under test runs in this process and must keep answering.
  const child = spawn(`${bin}st`, ['run', url, '--checks', 'all', '--no-color'], {
    cwd: ROOT, // schemathesis.toml is read from here
    env: { ...process.env, OFFERSTREAM_API_TOKEN: token },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', d => {
    output += d
  })
  child.stderr.on('data', d => {
    output += d
  })
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  const summary = output.slice(output.lastIndexOf('SUMMARY'))
  process.stderr.write(`[schemathesis] ${summary.replace(/\n+/g, '\n')}\n`)
  assert.equal(code, 0, output.slice(-6000))
  assert.match(summary, new RegExp(`Selected: ${operations}/${operations}`), 'every operation of /openapi.json tested')
  const cases = /(\d+) generated, (\d+) passed/.exec(summary)
  assert.ok(cases, summary)
  assert.equal(cases[1], cases[2], 'every generated case passed')
  assert.ok(Number(cases[1]) >= 300, `only ${cases[1]} cases generated`)
  assert.doesNotMatch(summary, /Failures:/)
})
