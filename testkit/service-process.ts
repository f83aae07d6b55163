import { type ChildProcess, spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
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

/** `offerstream run` as a real child process, so tests can SIGKILL it like an OOM killer would. */
export class ServiceProcess {
  #child: ChildProcess | undefined
  #config: Config
  #exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined
  #logFile: string | undefined
  output = ''

  /** `logFile`: every incarnation's whole output is appended there too (`output` keeps only the tail). */
  constructor(config: Config, opts: { logFile?: string } = {}) {
    this.#config = config
    this.#logFile = opts.logFile
  }

  start(): void {
    const child = spawn(process.execPath, [BIN, 'run'], { env: envFor(this.#config), stdio: ['ignore', 'pipe', 'pipe'] })
    this.#child = child
    const file = this.#logFile ? createWriteStream(this.#logFile, { flags: 'a' }) : undefined
    file?.write(`--- incarnation pid ${child.pid} started ${new Date().toISOString()}\n`)
    child.on('close', (code, signal) => file?.end(`--- pid ${child.pid} exited: code ${code} signal ${signal}\n`))
    const keep = (chunk: Buffer) => {
      file?.write(chunk)
      this.output = (this.output + chunk.toString()).slice(-20000)
    }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    this.#exit = new Promise(resolve => child.on('exit', (code, signal) => resolve({ code, signal })))
  }

  /** For RSS sampling in the soak. */
  get pid(): number | undefined {
    return this.#child?.pid
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.#child || !this.#exit) throw new Error('not started')
    this.#child.kill(signal)
    const result = await this.#exit
    this.#child = undefined
    return result
  }
}
