import { type ChildProcess, spawn } from 'node:child_process'
import crypto from 'node:crypto'
import { closeSync, openSync } from 'node:fs'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { HOST } from './net.ts'
import { canAccess, chownTo, pgBinaries, postgresRunAs, type RunAs } from './postgres-user.ts'
import type { StopPolicy } from './process.ts'

const PG_USER = 'postgres'
const PG_PASSWORD = 'postgres'
/** Matched against /proc/<pid>/cmdline to recognise our postmaster after a pid reuse. */
export const PG_MARKER = 'listen_addresses=127.0.0.1'
/** SIGTERM would be "smart" shutdown, waiting for pooled clients forever; SIGINT is "fast". */
export const PG_STOP: StopPolicy = { signal: 'SIGINT', graceMs: 15_000, force: 'SIGQUIT' }
/** SIGQUIT is "immediate" shutdown: crash-like, WAL recovery on the next start. */
export const PG_CRASH: StopPolicy = { signal: 'SIGQUIT', graceMs: 10_000 }

export interface PgSpec {
  /** Folder for our own files (the log); root-owned is fine. */
  dir: string
  port: number
}

export function databaseUrl(port: number): string {
  return `postgres://${PG_USER}:${PG_PASSWORD}@${HOST}:${port}/postgres`
}

export function pgLogFile(spec: PgSpec): string {
  return path.join(spec.dir, 'postgres.log')
}

/**
 * Home of the cluster: owned by the unprivileged user and reachable by it through
 * every parent folder. When `dir` is not (a checkout under /root, a 0700 mkdtemp
 * folder), it goes under /tmp instead, keyed by `dir` so restarts find it again.
 */
export function pgHome(spec: PgSpec, runAs: RunAs): string {
  if (!runAs || canAccess(runAs, spec.dir, '-x')) return path.join(spec.dir, 'postgres')
  const tag = crypto.createHash('sha1').update(path.resolve(spec.dir)).digest('hex').slice(0, 12)
  return path.join(os.tmpdir(), `offerstream-pg-${tag}`)
}

function env(): NodeJS.ProcessEnv {
  return { ...process.env, LC_ALL: 'C' } // log messages in English whatever the host locale
}

/** Creates the cluster on first use (initdb takes ~0.5 s); later starts reuse it. */
async function initdbOnce(initdb: string, home: string, runAs: RunAs, logFd: number): Promise<string> {
  const pgdata = path.join(home, 'data')
  if (
    await fs.access(path.join(pgdata, 'PG_VERSION')).then(
      () => true,
      () => false,
    )
  )
    return pgdata
  await fs.rm(home, { recursive: true, force: true }) // leftovers of an interrupted initdb
  await fs.mkdir(home, { recursive: true, mode: 0o700 })
  await chownTo(runAs, home)
  const pwfile = path.join(home, 'pwfile') // inside the 0700 home: nobody else can read it
  await fs.writeFile(pwfile, `${PG_PASSWORD}\n`, { mode: 0o600 })
  await chownTo(runAs, pwfile)
  try {
    const child = spawn(
      initdb,
      [
        `--pgdata=${pgdata}`,
        `--username=${PG_USER}`,
        `--pwfile=${pwfile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
        '--no-instructions',
      ],
      { ...runAs, stdio: ['ignore', logFd, logFd], env: env() },
    )
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject)
      child.once('exit', resolve)
    })
    if (code !== 0) throw new Error(`initdb exited with ${code}`)
  } finally {
    await fs.rm(pwfile, { force: true })
  }
  return pgdata
}

/**
 * Starts the postmaster (after initdb if needed). Readiness is the caller's job.
 * `detached` makes it outlive this process (for `offerstream stack up`).
 */
export async function spawnPostgres(spec: PgSpec, opts: { detached: boolean }): Promise<ChildProcess> {
  const runAs = postgresRunAs()
  const bin = await pgBinaries(runAs)
  await fs.mkdir(spec.dir, { recursive: true })
  // Opened by us and inherited, so the unprivileged server can write it wherever it lives.
  const logFd = openSync(pgLogFile(spec), 'a')
  try {
    const pgdata = await initdbOnce(bin.initdb, pgHome(spec, runAs), runAs, logFd)
    const child = spawn(
      bin.postgres,
      [
        '-D',
        pgdata,
        '-p',
        String(spec.port),
        '-c',
        PG_MARKER,
        '-c',
        'unix_socket_directories=', // TCP only: no socket-dir permissions or /tmp lock clashes
        '-c',
        'max_connections=200', // several services, tests and benchmarks share one server
      ],
      { ...runAs, stdio: ['ignore', logFd, logFd], env: env(), detached: opts.detached },
    )
    child.once('error', () => {}) // surfaces as an early exit to the readiness wait
    return child
  } finally {
    closeSync(logFd)
  }
}

/** One readiness probe: a real query, not just an open port (startup/recovery refuse logins). */
export async function postgresAnswers(port: number): Promise<boolean> {
  const client = new pg.Client({ connectionString: databaseUrl(port), connectionTimeoutMillis: 2_000 })
  client.on('error', () => {})
  try {
    await client.connect()
    const { rows } = await client.query<{ ok: number }>('select 1 as ok')
    return rows[0]?.ok === 1
  } finally {
    await client.end().catch(() => {})
  }
}
