import type { ChildProcess } from 'node:child_process'
import { closeSync, openSync, readSync, statSync } from 'node:fs'
import { waitUntil } from './net.ts'
import { isAlive, type StopPolicy, stopPid } from './process.ts'
import type { Watchdog } from './watchdog.ts'

export interface ServiceDef {
  name: string
  logFile: string
  spawn(): Promise<ChildProcess>
  answers(): Promise<boolean>
  stop: StopPolicy
  crash: StopPolicy
  startTimeoutMs: number
}

/** Last bytes of a log, so a failed start explains itself without a trip to the file. */
function logTail(file: string, bytes = 4000): string {
  try {
    const size = statSync(file).size
    const fd = openSync(file, 'r')
    const buf = Buffer.alloc(Math.min(bytes, size))
    readSync(fd, buf, 0, buf.length, size - buf.length)
    closeSync(fd)
    return buf.toString('utf8')
  } catch {
    return '(no log)'
  }
}

/** Waits for a real answer, failing fast (with the log tail) if the process dies first. */
export async function awaitReady(def: ServiceDef, child: ChildProcess): Promise<void> {
  await waitUntil(def.name, def.answers, {
    timeoutMs: def.startTimeoutMs,
    intervalMs: 150,
    abort: () => {
      if (child.pid === undefined) return `could not spawn ${child.spawnfile}`
      const end = child.exitCode ?? child.signalCode
      if (end === null) return undefined
      return `exited (${end}) before it was ready; end of ${def.logFile}:\n${logTail(def.logFile)}`
    },
  })
}

/**
 * A service run as a child of the caller. Start/stop calls are serialised so a
 * chaos test cannot interleave a restart with a stop.
 */
export class OwnedService {
  readonly def: ServiceDef
  #watchdog: Watchdog
  #child: ChildProcess | undefined
  #queue: Promise<unknown> = Promise.resolve()

  constructor(def: ServiceDef, watchdog: Watchdog) {
    this.def = def
    this.#watchdog = watchdog
  }

  get pid(): number | undefined {
    return isAlive(this.#child?.pid) ? this.#child?.pid : undefined
  }

  #serial<T>(op: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(op, op)
    this.#queue = next.catch(() => {})
    return next
  }

  start(): Promise<void> {
    return this.#serial(async () => {
      if (this.pid) return
      const child = await this.def.spawn()
      this.#child = child
      child.unref() // a forgotten stop() must not hang the caller; the watchdog reaps instead
      if (child.pid) this.#watchdog.watch(child.pid, this.def.stop)
      try {
        await awaitReady(this.def, child)
      } catch (err) {
        await this.#halt(this.def.crash)
        throw err
      }
    })
  }

  /** `hard` simulates a crash: SIGKILL for the broker, immediate shutdown for PostgreSQL. */
  stop(opts: { hard?: boolean } = {}): Promise<void> {
    return this.#serial(() => this.#halt(opts.hard ? this.def.crash : this.def.stop))
  }

  async #halt(policy: StopPolicy): Promise<void> {
    const pid = this.#child?.pid
    this.#child = undefined
    if (!pid) return
    await stopPid(pid, policy)
    this.#watchdog.forget(pid)
  }
}
