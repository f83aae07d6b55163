import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process'
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Config } from '../src/config/settings.ts'
import { SETTINGS, type SettingName } from '../src/config/settings.ts'

const BIN = fileURLToPath(new URL('../bin/offerstream.js', import.meta.url))

/** Environment that makes `offerstream run` use exactly this config. */
export function envFor(config: Config): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const v = config[name]
    env[SETTINGS[name].env] = Array.isArray(v) ? v.join(',') : String(v)
  }
  return env
}

export interface ServiceProcessOptions {
  /** Every incarnation's whole output is appended there too (`output` keeps only the tail). */
  logFile?: string
  /** Node flags before the entry point, e.g. --cpu-prof. */
  nodeArgs?: string[]
  /** Characters of output kept in `output` (default 20,000). */
  tailChars?: number
}

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

/**
 * `offerstream run` as a real child process, as in production: tests and chaos SIGKILL or SIGSTOP it
 * like an OOM killer or a frozen VM would, and the bench keeps its CPU time and event loop apart from
 * the load generator and reads its peak RSS from /proc. `start()` again after an exit is a new
 * incarnation of the same instance (same config, same static member id).
 */
export class ServiceProcess {
  readonly config: Config
  /** A cgroup's cgroup.procs: the process joins it before Node starts, so every cycle it uses is capped. */
  cgroupProcs: string | undefined
  output = ''
  /** Highest VmHWM (kernel peak RSS) of any incarnation, sampled every 200 ms and at stop. */
  peakRssKb = 0
  /** When this incarnation logged 'offerstream running' (needs log level info). */
  runningAt: number | undefined
  /** This incarnation's relay logged that it read its cursor. A flag, not a search of `output`: a chatty log pushes the line out of it. */
  relayResumed = false

  #child: ChildProcess | undefined
  #exit: Promise<Exit> | undefined
  #rssTimer: NodeJS.Timeout | undefined
  readonly #opts: ServiceProcessOptions

  constructor(config: Config, opts: ServiceProcessOptions = {}) {
    this.config = config
    this.#opts = opts
  }

  start(): void {
    const child = this.#spawn()
    this.#child = child
    this.runningAt = undefined
    this.relayResumed = false
    const file = this.#opts.logFile ? createWriteStream(this.#opts.logFile, { flags: 'a' }) : undefined
    file?.write(`--- incarnation pid ${child.pid} started ${new Date().toISOString()}\n`)
    child.on('close', (code, signal) => file?.end(`--- pid ${child.pid} exited: code ${code} signal ${signal}\n`))
    child.stdout?.on('data', (chunk: Buffer) => this.#keep(chunk, file))
    child.stderr?.on('data', (chunk: Buffer) => this.#keep(chunk, file))
    this.#exit = new Promise(resolve => child.on('exit', (code, signal) => resolve({ code, signal })))
    // VmHWM is the kernel's own peak-RSS mark, so short spikes between samples are not missed.
    clearInterval(this.#rssTimer)
    this.#rssTimer = setInterval(() => this.#sampleRss(), 200)
    this.#rssTimer.unref()
  }

  #spawn(): ChildProcess {
    const args = [...(this.#opts.nodeArgs ?? []), BIN, 'run']
    const opts: SpawnOptions = { env: envFor(this.config), stdio: ['ignore', 'pipe', 'pipe'] }
    // The shell writes its own pid into the cgroup and then execs Node: same pid, so signals and
    // SIGKILL reach the service itself.
    return this.cgroupProcs
      ? spawn('/bin/sh', ['-c', 'echo $$ > "$0" && exec "$@"', this.cgroupProcs, process.execPath, ...args], opts)
      : spawn(process.execPath, args, opts)
  }

  #keep(chunk: Buffer, file: WriteStream | undefined): void {
    file?.write(chunk)
    const text = chunk.toString()
    const tail = this.output.slice(-200) + text // a line split across two chunks is still found
    if (this.runningAt === undefined && tail.includes('offerstream running')) this.runningAt = Date.now()
    if (!this.relayResumed && tail.includes('relay resumed')) this.relayResumed = true
    this.output = (this.output + text).slice(-(this.#opts.tailChars ?? 20000))
  }

  #sampleRss(): void {
    try {
      const status = readFileSync(`/proc/${this.#child?.pid}/status`, 'utf8')
      const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0)
      if (hwm > this.peakRssKb) this.peakRssKb = hwm
    } catch {
      // Exited between samples.
    }
  }

  get pid(): number | undefined {
    return this.#child?.pid
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null
  }

  /** Throws (with the service's last output) if the service exited on its own: a wait would never end. */
  assertRunning(): void {
    const c = this.#child
    if (c && (c.exitCode !== null || c.signalCode !== null)) {
      throw new Error(`service exited (${c.exitCode ?? c.signalCode}):\n${this.output.slice(-4000)}`)
    }
  }

  /**
   * Resolves once the service logged that it runs (and, with `relay`, that the relay has read its
   * cursor). Instances that share the work may own no shard, so only one of them resumes a relay.
   */
  async ready(timeoutMs = 60000, relay = true): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!(this.runningAt !== undefined && (!relay || this.relayResumed))) {
      if (Date.now() > deadline || this.#child?.exitCode != null) throw new Error(`service did not start:\n${this.output.slice(-3000)}`)
      await new Promise(r => setTimeout(r, 50))
    }
  }

  /** Sends `signal` (default SIGKILL, as an OOM killer would) and waits for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<Exit> {
    if (!this.#child || !this.#exit) throw new Error('not started')
    if (signal === 'SIGTERM') this.#sampleRss()
    this.#child.kill(signal)
    const result = await this.#exit
    clearInterval(this.#rssTimer)
    this.#child = undefined
    return result
  }

  /** SIGTERM (drain and exit 0, which also lets --cpu-prof write its profile); nothing if not running. */
  async stop(): Promise<Exit | undefined> {
    return this.#child ? this.kill('SIGTERM') : undefined
  }
}
