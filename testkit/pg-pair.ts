import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import fs from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { databaseUrl, postgresAnswers } from '../tools/stack/postgres.ts'
import { chownTo, pgBinaries, postgresRunAs } from '../tools/stack/postgres-user.ts'

/**
 * A PostgreSQL primary and a streaming replica made from the embedded binaries, for failover tests:
 * the replica is a copy of the cleanly stopped primary's data directory plus standby.signal and
 * primary_conninfo (no pg_basebackup needed). With `sync`, the primary waits for the replica's
 * flush before a commit returns (synchronous_standby_names), so a failover loses nothing.
 * The replica streams through a forwarder the test can pause: the WAL sent meanwhile waits in the
 * forwarder (not in the replica's socket buffer, where a woken receiver would still find it) and
 * is lost with the primary, like WAL a lagging replica never received.
 */
export interface PgPair {
  primaryPort: number
  replicaPort: number
  /** From now on the replica receives no WAL: it falls behind. */
  freezeReplica(): void
  /** How far the replica is behind the primary: WAL bytes not yet flushed there, and its replay lag. */
  lag(): Promise<{ bytes: number; replayLagMs: number | null }>
  /** SIGKILL of the primary's postmaster and every backend: a crashed host. What the replica did not get is gone. */
  killPrimary(): void
  /** pg_promote() on the replica; resolves once it accepts writes. */
  promote(): Promise<void>
  close(): Promise<void>
}

const APP_NAME = 'offerstream_replica'

async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  await new Promise(resolve => server.close(resolve))
  return port
}

/** A TCP forwarder for the replication connection whose primary-to-replica direction can be held. */
async function startForwarder(targetPort: number): Promise<{ port: number; hold(): void; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>()
  const held: net.Socket[] = []
  let holding = false
  const server = net.createServer(replica => {
    const primary = net.connect(targetPort, '127.0.0.1')
    for (const s of [replica, primary]) {
      sockets.add(s)
      s.on('error', () => {})
      s.on('close', () => {
        sockets.delete(s)
        replica.destroy()
        primary.destroy()
      })
    }
    replica.pipe(primary)
    primary.pipe(replica)
    held.push(primary)
    if (holding) primary.unpipe(replica)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    hold() {
      holding = true
      for (const p of held) p.unpipe()
    },
    async close() {
      const closed = new Promise(resolve => server.close(resolve))
      for (const s of sockets) s.destroy()
      await closed
    },
  }
}

async function until(what: string, ok: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await ok().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(r => setTimeout(r, 100))
  }
}

async function query<T extends pg.QueryResultRow>(port: number, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: databaseUrl(port), connectionTimeoutMillis: 3000 })
  c.on('error', () => {})
  await c.connect()
  try {
    return (await c.query<T>(sql)).rows
  } finally {
    await c.end().catch(() => {})
  }
}

/** The pids whose parent is `pid` (a postmaster's backends). */
function childrenOf(pid: number): number[] {
  const out: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue
    }
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    if (ppid === pid) out.push(Number(entry))
  }
  return out
}

export async function startPgPair(opts: { sync: boolean; log?: (m: string) => void }): Promise<PgPair> {
  const log = opts.log ?? (() => {})
  const runAs = postgresRunAs()
  const bin = await pgBinaries(runAs)
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'offerstream-pg-pair-'))
  await fs.chmod(dir, 0o755)
  await chownTo(runAs, dir)
  const primaryData = path.join(dir, 'primary')
  const replicaData = path.join(dir, 'replica')
  const [primaryPort, replicaPort] = [await freePort(), await freePort()]
  const pwfile = path.join(dir, 'pwfile')
  await fs.writeFile(pwfile, 'postgres\n', { mode: 0o600 })
  await chownTo(runAs, pwfile)
  const init = spawnSync(
    bin.initdb,
    [`--pgdata=${primaryData}`, '--username=postgres', `--pwfile=${pwfile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C'],
    { ...runAs, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } },
  )
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`)
  const children = new Set<ChildProcess>()
  const start = (data: string, port: number, extra: string[]) => {
    const logFd = `${data}.log`
    const child = spawn(
      bin.postgres,
      [
        '-D',
        data,
        '-p',
        String(port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
        '-c',
        'max_connections=100',
        '-c',
        'wal_keep_size=1GB',
        ...extra,
      ],
      { ...runAs, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C' } },
    )
    child.stderr?.on('data', (d: Buffer) => void fs.appendFile(logFd, d).catch(() => {}))
    child.once('error', () => {})
    children.add(child)
    child.once('exit', () => children.delete(child))
    return child
  }
  const stop = async (child: ChildProcess | undefined) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise(resolve => child.once('exit', resolve))
    child.kill('SIGINT') // "fast" shutdown: a clean checkpoint, so the copy below is consistent
    await exited
  }
  const primaryArgs = opts.sync ? ['-c', `synchronous_standby_names=${APP_NAME}`] : []
  // 1. The primary once, to set up; stopped cleanly, its data directory is a valid base backup.
  let primary = start(primaryData, primaryPort, [])
  await until('the primary', () => postgresAnswers(primaryPort))
  await stop(primary)
  const forwarder = await startForwarder(primaryPort)
  const cp = spawnSync('cp', ['-a', primaryData, replicaData], { encoding: 'utf8' })
  if (cp.status !== 0) throw new Error(`copying the data directory failed: ${cp.stderr}`)
  await fs.writeFile(path.join(replicaData, 'standby.signal'), '')
  await fs.appendFile(
    path.join(replicaData, 'postgresql.auto.conf'),
    `primary_conninfo = 'host=127.0.0.1 port=${forwarder.port} user=postgres password=postgres application_name=${APP_NAME}'\n`,
  )
  await chownTo(runAs, path.join(replicaData, 'standby.signal'))
  primary = start(primaryData, primaryPort, primaryArgs)
  const replica = start(replicaData, replicaPort, ['-c', 'hot_standby=on'])
  await until('the primary', () => postgresAnswers(primaryPort))
  await until('streaming replication', async () => {
    const rows = await query<{ state: string }>(primaryPort, `select state from pg_stat_replication where application_name = '${APP_NAME}'`)
    return rows[0]?.state === 'streaming'
  })
  log(`PostgreSQL primary on ${primaryPort}, ${opts.sync ? 'synchronous' : 'asynchronous'} replica on ${replicaPort}`)
  let primaryKilled = false
  return {
    primaryPort,
    replicaPort,
    freezeReplica() {
      forwarder.hold()
    },
    async lag() {
      const rows = await query<{ bytes: string | null; lag_ms: number | null }>(
        primaryPort,
        `select pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn)::text as bytes,
                (extract(epoch from replay_lag) * 1000)::float8 as lag_ms
         from pg_stat_replication where application_name = '${APP_NAME}'`,
      )
      return { bytes: Number(rows[0]?.bytes ?? Number.NaN), replayLagMs: rows[0]?.lag_ms ?? null }
    },
    killPrimary() {
      const pid = primary.pid
      if (pid === undefined) return
      const backends = childrenOf(pid)
      primaryKilled = true
      process.kill(pid, 'SIGKILL')
      for (const b of backends) {
        try {
          process.kill(b, 'SIGKILL')
        } catch {}
      }
      void forwarder.close()
    },
    async promote() {
      // wait => false: a waiting call can itself be cancelled by a recovery conflict while replay finishes.
      await until('pg_promote()', async () => {
        await query(replicaPort, 'select pg_promote(false)')
        return true
      })
      await until('the promoted replica', async () => {
        const rows = await query<{ r: boolean }>(replicaPort, 'select pg_is_in_recovery() as r')
        return rows[0]?.r === false
      })
    },
    async close() {
      if (!primaryKilled) await stop(primary)
      await stop(replica)
      await forwarder.close()
      for (const c of children) c.kill('SIGKILL')
      await fs.rm(dir, { recursive: true, force: true })
    },
  }
}
