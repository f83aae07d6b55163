import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { chownSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import pg from 'pg'
import { loadConfig } from '../../src/config/load-config.ts'
import { migrate } from '../../src/pg/migrate.ts'
import { createPool } from '../../src/pg/pool.ts'
import { type Stack, startStack } from '../../tools/stack/index.ts'

// PostgreSQL TLS is configured through DATABASE_URL, as the pg driver reads it. This suite turns
// TLS on in a PostgreSQL of its own (self-signed certificate for 127.0.0.1) and checks the
// service's pool really encrypts with sslmode=verify-full, and refuses a server without TLS.
let stack: Stack
let ca: string

before(async () => {
  stack = await startStack()
  const admin = new pg.Client({ connectionString: stack.databaseUrl })
  await admin.connect()
  const dataDir: string = (await admin.query('show data_directory')).rows[0].data_directory
  const tmp = mkdtempSync(join(tmpdir(), 'pgtls-'))
  ca = join(tmp, 'ca.crt')
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(tmp, 'server.key'),
      '-out',
      ca,
    ],
    { stdio: 'pipe' },
  )
  // The server reads its key as its own user (PostgreSQL insists on 0600 and the right owner).
  const owner = statSync(dataDir)
  for (const [name, mode] of [
    ['server.crt', 0o644],
    ['server.key', 0o600],
  ] as const) {
    const file = join(dataDir, name)
    writeFileSync(file, readFileSync(join(tmp, name === 'server.crt' ? 'ca.crt' : name)), { mode })
    if (process.getuid?.() === 0) chownSync(file, owner.uid, owner.gid)
  }
  await admin.query('alter system set ssl = on')
  await admin.query('select pg_reload_conf()')
  await admin.end()
})
after(async () => stack?.stop())

test('sslmode=verify-full with sslrootcert: the service pool migrates over TLS', async () => {
  const url = `${stack.databaseUrl}?sslmode=verify-full&sslrootcert=${encodeURIComponent(ca)}`
  const config = loadConfig({ env: { DATABASE_URL: url, KAFKA_BROKERS: stack.kafkaBrokers } })
  const pool = createPool(config.databaseUrl)
  try {
    await migrate(pool)
    const { rows } = await pool.query('select ssl, version from pg_stat_ssl where pid = pg_backend_pid()')
    assert.equal(rows[0].ssl, true)
    assert.match(rows[0].version, /^TLS/)
  } finally {
    await pool.end()
  }
})

test('sslmode=verify-full refuses a certificate it cannot verify; a missing sslrootcert is a setting error', async () => {
  const pool = createPool(`${stack.databaseUrl}?sslmode=verify-full`)
  await assert.rejects(pool.query('select 1'), /self-signed|certificate/i)
  await pool.end()
  assert.throws(
    () => loadConfig({ env: { DATABASE_URL: `${stack.databaseUrl}?sslmode=verify-full&sslrootcert=/nonexistent/ca.crt` } }),
    /DATABASE_URL.*sslrootcert/,
  )
})
