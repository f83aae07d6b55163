import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Admin } from '@platformatic/kafka'
import type { Config } from '../src/config/settings.ts'
import { ServiceProcess } from '../testkit/service-process.ts'
import { type CpuCgroup, type CpuThrottling, createCpuCgroup } from './cpu-cgroup.ts'

/**
 * `offerstream run` for a bench scenario. Its whole log goes to bench/results/logs/ (named by the
 * scenario's output topic and the instance id, if any) for post-mortems, appended to, so a restarted
 * instance (failover bench) keeps the log of its earlier lives.
 */
export function benchService(config: Config, nodeArgs: string[] = []): ServiceProcess {
  const dir = fileURLToPath(new URL('./results/logs/', import.meta.url))
  mkdirSync(dir, { recursive: true })
  const logFile = `${dir}${config.outputTopic}${config.groupInstanceId ? `-${config.groupInstanceId}` : ''}.log`
  return new ServiceProcess(config, { logFile, nodeArgs, tailChars: 50000 })
}

export interface GroupOptions {
  instances: number
  /** Cores each instance may use (a CFS quota); undefined: no cap (the single-instance scenarios). */
  cpuPerInstance: number | undefined
  nodeArgs: string[]
}

/**
 * N `offerstream run` processes sharing one deployment: the same settings except a static member id
 * each (OFFERSTREAM_GROUP_INSTANCE_ID), HTTP off, each in its own CPU cgroup when capped. One
 * instance without a cap is exactly the single service the other scenarios always measured.
 */
export class ServiceGroup {
  readonly services: ServiceProcess[]
  readonly #cgroups: CpuCgroup[] = []
  readonly #config: Config
  readonly #cpu: number | undefined

  constructor(config: Config, o: GroupOptions) {
    this.#config = config
    this.#cpu = o.cpuPerInstance
    this.services = Array.from({ length: o.instances }, (_, i) => {
      const id = o.instances > 1 || o.cpuPerInstance !== undefined ? `${config.groupId}-${i + 1}` : config.groupInstanceId
      return benchService({ ...config, groupInstanceId: id, httpEnabled: false }, o.nodeArgs)
    })
  }

  get pids(): number[] {
    return this.services.flatMap(s => (s.pid === undefined ? [] : [s.pid]))
  }

  get peakRssMb(): number {
    return Math.round(Math.max(0, ...this.services.map(s => s.peakRssKb)) / 1024)
  }

  /** Each capped instance's CFS throttling so far (empty when uncapped). */
  throttling(): CpuThrottling[] {
    return this.#cgroups.map(c => c.stat())
  }

  start(): void {
    for (const s of this.services) {
      if (this.#cpu !== undefined) {
        const cg = createCpuCgroup(s.config.groupInstanceId, this.#cpu)
        this.#cgroups.push(cg)
        s.cgroupProcs = cg.procsFile
      }
      s.start()
    }
  }

  /**
   * Every instance runs and the consumer groups hold all of them with a settled assignment, so the
   * measurement does not include a rebalance. The shard group (`<group>-shards`) only exists in the
   * sharded design; on a single-writer build only the input group is checked.
   */
  async ready(timeoutMs = 120000): Promise<void> {
    const single = this.services.length === 1
    await Promise.all(this.services.map(s => s.ready(timeoutMs, single)))
    if (single) return
    const admin = new Admin({ clientId: 'bench-group-ready', bootstrapBrokers: this.#config.kafkaBrokers })
    const groups = [this.#config.groupId, `${this.#config.groupId}-shards`]
    const deadline = Date.now() + timeoutMs
    let last = ''
    try {
      for (;;) {
        this.assertRunning()
        const described = await admin.describeGroups({ groups })
        const states = groups.flatMap(g => described.get(g) ?? []).filter(g => g.state !== 'Dead')
        last = states.map(g => `${g.id}: ${g.state}, ${g.members.size} members`).join('; ')
        if (states.length > 0 && states.every(g => g.state === 'Stable' && g.members.size === this.services.length)) return
        if (Date.now() > deadline) throw new Error(`consumer groups did not settle with ${this.services.length} members: ${last}`)
        await new Promise(r => setTimeout(r, 100))
      }
    } finally {
      await admin.close().catch(() => {})
    }
  }

  assertRunning(): void {
    for (const s of this.services) s.assertRunning()
  }

  /** SIGTERM to all at once (each drains), then the cgroups go. */
  async stop(): Promise<void> {
    await Promise.all(this.services.map(s => s.stop().catch(() => null)))
    for (const c of this.#cgroups.splice(0)) c.remove()
  }
}
