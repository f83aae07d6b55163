import fs from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Alive means "exists and is not a zombie": a detached child whose parent is gone
 * may linger as a zombie when PID 1 does not reap, yet kill(pid, 0) succeeds on it.
 */
export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false
  try {
    process.kill(pid, 0)
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    return state !== 'Z' && state !== 'X'
  } catch {
    return false
  }
}

/** Guards against pid reuse: a pid from a state file only counts if it still runs our program. */
export function runs(pid: number | undefined, marker: string): boolean {
  if (!isAlive(pid)) return false
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)
  } catch {
    return false
  }
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false
    await sleep(25)
  }
  return true
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err
  }
}

/**
 * Polite signal first, then the forced one after a grace period, then SIGKILL.
 * The signals differ per service (PostgreSQL's SIGTERM waits for clients to leave).
 */
export interface StopPolicy {
  signal: NodeJS.Signals
  graceMs: number
  force?: NodeJS.Signals
}

export async function stopPid(pid: number, opts: StopPolicy): Promise<void> {
  if (!isAlive(pid)) return
  signal(pid, opts.signal)
  if (await waitGone(pid, opts.graceMs)) return
  if (opts.force && opts.force !== 'SIGKILL') {
    signal(pid, opts.force)
    if (await waitGone(pid, 5_000)) return
  }
  signal(pid, 'SIGKILL')
  if (!(await waitGone(pid, 5_000))) throw new Error(`process ${pid} survived SIGKILL`)
}
