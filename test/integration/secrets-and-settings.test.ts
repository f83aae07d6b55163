import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { Admin } from '@platformatic/kafka'
import pg from 'pg'
import { requireServices } from '../../testkit/fixture.ts'

// Runs the real CLI with secrets in its settings and greps everything it prints, on a healthy
// run at trace level and on every failing-connection path; and checks bad settings exit 2.
const BIN = fileURLToPath(new URL('../../bin/offerstream.js', import.meta.url))
const PG_SECRET = `PgS3cret${randomBytes(4).toString('hex')}`
const SASL_SECRET = `SaslS3cret${randomBytes(4).toString('hex')}`
// Only ever reached when something hangs: every run below waits for output or for its exit.
const DEADLINE_MS = 120_000

function topics(): Record<string, string> {
  const id = randomBytes(4).toString('hex')
  return {
    OFFERSTREAM_INPUT_TOPIC: `sin_${id}`,
    OFFERSTREAM_OUTPUT_TOPIC: `sout_${id}`,
    OFFERSTREAM_DLQ_TOPIC: `sdlq_${id}`,
    OFFERSTREAM_STATE_TOPIC: `sst_${id}`,
    OFFERSTREAM_FEEDBACK_TOPIC: `sfb_${id}`,
    OFFERSTREAM_FEEDBACK_DLQ_TOPIC: `sfbdlq_${id}`,
    OFFERSTREAM_GROUP_ID: `sg_${id}`,
    OFFERSTREAM_TRANSACTIONAL_ID: `stx_${id}`,
  }
}

/**
 * Runs `offerstream run` until its output matches `until`, then SIGTERMs it (without `until`: until
 * it exits by itself). Gives up after a generous deadline (SIGKILL) so a hang fails the assertions
 * below with the output, instead of the whole suite timing out.
 */
async function run(env: Record<string, string>, until?: RegExp, args: string[] = []): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [BIN, 'run', ...args], {
    env: { PATH: process.env.PATH, OFFERSTREAM_HTTP_ENABLED: 'false', OFFERSTREAM_LOG_LEVEL: 'trace', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)))
  const seen = new Promise<void>(resolve => {
    const collect = (d: Buffer) => {
      out += d
      if (until?.test(out)) resolve()
    }
    child.stdout.on('data', collect)
    child.stderr.on('data', collect)
  })
  const deadline = AbortSignal.timeout(DEADLINE_MS)
  const gaveUp = new Promise<void>(resolve => deadline.addEventListener('abort', () => resolve()))
  if (until) {
    await Promise.race([seen, exited, gaveUp])
    child.kill('SIGTERM')
  }
  const code = await Promise.race([exited, gaveUp.then(() => null)])
  if (code === null && child.exitCode === null) {
    child.kill('SIGKILL')
    await exited
    out += `\n[test: no ${until ? 'match and exit' : 'exit'} within ${DEADLINE_MS} ms]`
  }
  return { code, out }
}

function withPassword(url: string, user: string, password: string): string {
  const u = new URL(url)
  u.username = user
  u.password = password
  return u.toString()
}

const leaks = (out: string) => [PG_SECRET, SASL_SECRET].filter(s => out.includes(s))

test('no secret in the output of a healthy run at trace level, nor when a database login fails', async () => {
  const { brokers, databaseUrl } = requireServices()
  const role = `sec_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: databaseUrl })
  await admin.connect()
  await admin.query(`create role ${role} login superuser password '${PG_SECRET}'`)
  const db = `${role}_db`
  await admin.query(`create database ${db} owner ${role}`)
  try {
    const good = withPassword(databaseUrl, role, PG_SECRET).replace(/\/[^/?]*(\?|$)/, `/${db}$1`)
    const names = topics()
    const healthy = await run({ KAFKA_BROKERS: brokers, DATABASE_URL: good, ...names }, /offerstream running/)
    const kafka = new Admin({ clientId: 'secrets-cleanup', bootstrapBrokers: [brokers] })
    await kafka
      .deleteTopics({
        topics: Object.entries(names)
          .filter(([k]) => k.endsWith('_TOPIC'))
          .map(([, v]) => v),
      })
      .catch(() => {})
    await kafka.close()
    assert.match(healthy.out, /offerstream running/)
    assert.equal(healthy.code, 0, healthy.out.slice(-2000))
    assert.deepEqual(leaks(healthy.out), [])
    const wrong = await run(
      { KAFKA_BROKERS: brokers, DATABASE_URL: withPassword(databaseUrl, role, `${PG_SECRET}x`), ...topics() },
      /password authentication failed/,
    )
    assert.match(wrong.out, /password authentication failed/)
    assert.deepEqual(leaks(wrong.out), [])
  } finally {
    await admin.query(`drop database if exists ${db} with (force)`)
    await admin.query(`drop role if exists ${role}`)
    await admin.end()
  }
})

test('no secret in the output while PostgreSQL is unreachable or Kafka refuses SASL', async () => {
  const { brokers, databaseUrl } = requireServices()
  const unreachable = await run(
    { KAFKA_BROKERS: brokers, DATABASE_URL: `postgres://app:${PG_SECRET}@127.0.0.1:1/x?password=${PG_SECRET}` },
    /PG_UNAVAILABLE.*retrying/,
  )
  assert.match(unreachable.out, /PG_UNAVAILABLE.*retrying/)
  assert.deepEqual(leaks(unreachable.out), [])
  const sasl = await run(
    {
      KAFKA_BROKERS: brokers,
      DATABASE_URL: databaseUrl,
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'app',
      KAFKA_SASL_PASSWORD: SASL_SECRET,
      ...topics(),
    },
    /SASL/,
  )
  assert.match(sasl.out, /SASL/)
  assert.deepEqual(leaks(sasl.out), [])
})

test('bad settings: exit code 2 and a message naming the setting, secrets not echoed', async () => {
  const { brokers, databaseUrl } = requireServices()
  const base = { KAFKA_BROKERS: brokers, DATABASE_URL: databaseUrl }
  const cases: Array<[Record<string, string>, RegExp, string[]?]> = [
    [{ OFFERSTREAM_FANOUT_CHUNK: 'lots' }, /OFFERSTREAM_FANOUT_CHUNK/],
    [{ OFFERSTREAM_RELAY_BATCH: '0' }, /OFFERSTREAM_RELAY_BATCH/],
    [{ KAFKA_BROKERS: 'not a broker' }, /KAFKA_BROKERS/],
    [{ KAFKA_SASL_MECHANISM: 'GSSAPI' }, /KAFKA_SASL_MECHANISM/],
    [{ KAFKA_SASL_MECHANISM: 'PLAIN', KAFKA_SASL_PASSWORD: SASL_SECRET }, /KAFKA_SASL_USERNAME/],
    [{ KAFKA_TLS: 'maybe' }, /KAFKA_TLS/],
    [{ KAFKA_TLS: 'true', KAFKA_TLS_CA_FILE: '/nonexistent/ca.pem' }, /KAFKA_TLS_CA_FILE/],
    [{ DATABASE_URL: `mysql://app:${PG_SECRET}@db/x` }, /DATABASE_URL/],
    [{ DATABASE_URL: `postgres://app:${PG_SECRET}@db:notaport/x` }, /DATABASE_URL/],
    [{ DATABASE_URL: '' }, /DATABASE_URL/],
    [{}, /--no-such-flag/, ['--no-such-flag', '1']],
  ]
  for (const [env, names, args] of cases) {
    const r = await run({ ...base, ...env }, undefined, args)
    assert.equal(r.code, 2, `${JSON.stringify(env)}: ${r.out}`)
    assert.match(r.out, names)
    assert.deepEqual(leaks(r.out), [])
  }
})
