import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process'
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Config } from '../src/config/settings.ts'
import { envFor } from '../testkit/service-process.ts'

const BIN = fileURLToPath(new URL('../bin/offerstream.js', import.meta.url))

/**
 * `offerstream run` as its own process, as in production: it does not share CPU time or an event
 * loop with the load generator and the observers, and its memory can be read from /proc.
 */
export class BenchService {
  #child: ChildProcess | undefined
  #exit: Promise<number | null> | undefined
  #rssTimer: NodeJS.Timeout | undefined
  output = ''
  peakRssKb = 0
  /** When the service logged 'offerstream running' (cold-start scenario). */
  runningAt: number | undefined
  /** The relay logged that it read its cursor. Flags, not a search of `output`: a chatty log pushes the line out of it. */
  relayResumed = false

  config: Config
  nodeArgs: string[]
  /** A cgroup's cgroup.procs: the process joins it before Node starts, so every cycle it uses is capped. */
  cgroupProcs: string | undefined

  constructor(config: Config, nodeArgs: string[] = [], cgroupProcs?: string) {
    this.config = config
    this.nodeArgs = nodeArgs
    this.cgroupProcs = cgroupProcs
  }

  start(): void {
    const args = [...this.nodeArgs, BIN, 'run']
    const opts: SpawnOptions = { env: envFor(this.config), stdio: ['ignore', 'pipe', 'pipe'] }
    // The shell writes its own pid into the cgroup and then execs Node: same pid, so signals and
    // SIGKILL reach the service itself.
    const child = this.cgroupProcs
      ? spawn('/bin/sh', ['-c', 'echo $$ > "$0" && exec "$@"', this.cgroupProcs, process.execPath, ...args], opts)
      : spawn(process.execPath, args, opts)
    this.#child = child
    this.output = ''
    this.runningAt = undefined
    this.relayResumed = false
    // The whole log goes to bench/results/logs/ (named by the scenario's output topic and the
    // instance id, if any) for post-mortems.
    const dir = fileURLToPath(new URL('./results/logs/', import.meta.url))
    mkdirSync(dir, { recursive: true })
    // Appended to, so a restarted instance (failover bench) keeps the log of its earlier lives.
    const file = createWriteStream(
      `${dir}${this.config.outputTopic}${this.config.groupInstanceId ? `-${this.config.groupInstanceId}` : ''}.log`,
      {
        flags: 'a',
      },
    )
    child.on('exit', () => file.end())
    const keep = (chunk: Buffer) => {
      file.write(chunk)
      const tail = this.output.slice(-200) + chunk.toString() // a line split across two chunks is still found
      if (this.runningAt === undefined && tail.includes('offerstream running')) this.runningAt = Date.now()
      if (!this.relayResumed && tail.includes('relay resumed')) this.relayResumed = true
      this.output = (this.output + chunk.toString()).slice(-50000)
    }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    this.#exit = new Promise(resolve => child.on('exit', code => resolve(code)))
    // VmHWM is the kernel's own peak-RSS mark, so short spikes between samples are not missed.
    this.#rssTimer = setInterval(() => this.#sampleRss(), 200)
  }

  /** Throws (with the service's last output) if the service exited on its own: a wait would never end. */
  assertRunning(): void {
    const c = this.#child
    if (c && (c.exitCode !== null || c.signalCode !== null)) {
      throw new Error(`service exited (${c.exitCode ?? c.signalCode}):\n${this.output.slice(-4000)}`)
    }
  }

  get pid(): number | undefined {
    return this.#child?.pid
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

  /** SIGKILL, as an OOM killer would; `start()` brings the same instance back (failover bench). */
  async kill(): Promise<void> {
    clearInterval(this.#rssTimer)
    this.#child?.kill('SIGKILL')
    await this.#exit
    this.#child = undefined
  }

  /** SIGTERM (drain and exit 0, which also lets --cpu-prof write its profile). */
  async stop(): Promise<number | null> {
    this.#sampleRss()
    clearInterval(this.#rssTimer)
    this.#child?.kill('SIGTERM')
    const code = await this.#exit
    this.#child = undefined
    return code ?? null
  }
}
