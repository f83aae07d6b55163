/**
 * Orphan reaper for stacks owned by a test or benchmark process.
 *
 * If the owner dies without calling stop() (crash, runner timeout, SIGKILL), the
 * broker and database would keep running and hold ports and memory. This tiny
 * process outlives the owner: it learns the pids over its stdin pipe and, when
 * the pipe closes (the owner exited, or stopped cleanly), stops whatever is left.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import type { Socket } from 'node:net'
import readline from 'node:readline'
import { type StopPolicy, stopPid } from './process.ts'

type Command = { op: 'watch'; pid: number; policy: StopPolicy } | { op: 'forget'; pid: number } | { op: 'remove'; path: string }

/** The owner's side. Does not keep the owner's event loop alive. */
export class Watchdog {
  #child: ChildProcess | undefined

  #send(cmd: Command): void {
    if (!this.#child) {
      this.#child = spawn(process.execPath, [import.meta.filename], { stdio: ['pipe', 'ignore', 'inherit'] })
      this.#child.unref()
      ;(this.#child.stdin as unknown as Socket).unref()
      this.#child.stdin?.on('error', () => {}) // the reaper died: nothing useful to do about it
    }
    this.#child.stdin?.write(`${JSON.stringify(cmd)}\n`)
  }

  watch(pid: number, policy: StopPolicy): void {
    this.#send({ op: 'watch', pid, policy })
  }

  /** Throw-away folders to delete once the pipe closes (the owner deletes them too; rm -f races harmlessly). */
  removeAfterwards(path: string): void {
    this.#send({ op: 'remove', path })
  }

  forget(pid: number): void {
    if (this.#child) this.#send({ op: 'forget', pid })
  }

  /** Call once everything is stopped: the reaper then exits with nothing to do. */
  close(): void {
    this.#child?.stdin?.end()
    this.#child = undefined
  }
}

async function reaper(): Promise<void> {
  // Ctrl-C hits the whole process group; the services handle it themselves and we
  // must survive to clean up if they do not.
  process.on('SIGINT', () => {})
  process.on('SIGHUP', () => {})
  const watched = new Map<number, StopPolicy>()
  const folders = new Set<string>()
  for await (const line of readline.createInterface({ input: process.stdin })) {
    const cmd = JSON.parse(line) as Command
    if (cmd.op === 'watch') watched.set(cmd.pid, cmd.policy)
    else if (cmd.op === 'forget') watched.delete(cmd.pid)
    else folders.add(cmd.path)
  }
  await Promise.allSettled([...watched].map(([pid, policy]) => stopPid(pid, policy)))
  for (const folder of folders) await fs.rm(folder, { recursive: true, force: true })
}

if (import.meta.main) await reaper()
