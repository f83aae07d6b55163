import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'

// A fixed CPU share per service instance, so that on a 2-core machine the scaling scenario shows what
// more instances add instead of one instance taking every idle cycle. A CFS quota (cgroup v1
// cpu.cfs_quota_us, or v2 cpu.max) is a hard ceiling per period, unlike cpu.shares/weight, which
// only matter under contention. The bench refuses to run without it rather than measure uncapped
// instances and call the result "scaling".

const V1 = '/sys/fs/cgroup/cpu'
const V2 = '/sys/fs/cgroup'
const PERIOD_US = 100_000

export interface CpuCgroup {
  /** The file a process writes its own pid to in order to join (see ServiceProcess.cgroupProcs). */
  procsFile: string
  cores: number
  /** The group's CFS throttling so far (cpu.stat): periods that ran, periods throttled, time throttled. */
  stat(): CpuThrottling
  remove(): void
}

export interface CpuThrottling {
  periods: number
  throttled: number
  throttledSeconds: number
}

function readThrottling(group: string, v2: boolean): CpuThrottling {
  const stat = new Map<string, number>()
  try {
    for (const line of readFileSync(path.join(group, 'cpu.stat'), 'utf8').split('\n')) {
      const [k, v] = line.split(' ')
      if (k && v) stat.set(k, Number(v))
    }
  } catch {
    // Removed already.
  }
  return {
    periods: stat.get('nr_periods') ?? 0,
    throttled: stat.get('nr_throttled') ?? 0,
    // v1 reports nanoseconds, v2 microseconds.
    throttledSeconds: v2 ? (stat.get('throttled_usec') ?? 0) / 1e6 : (stat.get('throttled_time') ?? 0) / 1e9,
  }
}

/** What happened between two readings of the same group. */
export function throttlingSince(before: CpuThrottling, after: CpuThrottling): CpuThrottling {
  return {
    periods: after.periods - before.periods,
    throttled: after.throttled - before.throttled,
    throttledSeconds: Math.round((after.throttledSeconds - before.throttledSeconds) * 100) / 100,
  }
}

function root(): { dir: string; v2: boolean } {
  if (existsSync(`${V1}/cpu.cfs_quota_us`)) return { dir: V1, v2: false }
  if (existsSync(`${V2}/cgroup.controllers`) && readFileSync(`${V2}/cgroup.controllers`, 'utf8').split(/\s/).includes('cpu'))
    return { dir: V2, v2: true }
  throw new Error(
    `--instances needs a CPU quota per instance, but no cgroup cpu controller was found (${V1}/cpu.cfs_quota_us for v1, ` +
      `"cpu" in ${V2}/cgroup.controllers for v2). Run on a Linux host with cgroups mounted, as root.`,
  )
}

/** Creates `offerstream-bench/<name>` limited to `cores` CPUs; throws a message saying what is missing. */
export function createCpuCgroup(name: string, cores: number): CpuCgroup {
  if (!(cores > 0)) throw new Error(`--cpu-per-instance must be a positive number of cores, got ${cores}`)
  const { dir, v2 } = root()
  const parent = path.join(dir, 'offerstream-bench')
  const group = path.join(parent, name)
  const quota = Math.max(1000, Math.round(cores * PERIOD_US))
  try {
    mkdirSync(group, { recursive: true })
    if (v2) {
      // v2 hands a controller to children only when the parent lists it in subtree_control.
      writeFileSync(path.join(dir, 'cgroup.subtree_control'), '+cpu')
      writeFileSync(path.join(parent, 'cgroup.subtree_control'), '+cpu')
      writeFileSync(path.join(group, 'cpu.max'), `${quota} ${PERIOD_US}`)
    } else {
      writeFileSync(path.join(group, 'cpu.cfs_period_us'), String(PERIOD_US))
      writeFileSync(path.join(group, 'cpu.cfs_quota_us'), String(quota))
    }
  } catch (error) {
    throw new Error(
      `cannot set up the CPU cgroup ${group} (${(error as Error).message}); the scaling scenario needs root on a host with writable cgroups`,
    )
  }
  return {
    procsFile: path.join(group, 'cgroup.procs'),
    cores,
    stat: () => readThrottling(group, v2),
    remove() {
      // rmdir fails while a (not yet reaped) process is still listed; the caller stops the services first.
      try {
        rmdirSync(group)
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code
        if (code !== 'ENOENT') process.stderr.write(`[bench] could not remove cgroup ${group} (${code}); rmdir it by hand\n`)
      }
      try {
        rmdirSync(parent)
      } catch {
        // Another instance's group is still in it (removed with the last one), or it is gone already.
      }
    },
  }
}

/**
 * Removes the groups a killed bench (Ctrl-C, SIGKILL) left behind. Only empty ones can go: a group
 * another bench run is still using holds processes, and rmdir refuses it.
 */
export function removeLeftoverCgroups(): void {
  const parent = path.join(root().dir, 'offerstream-bench')
  if (!existsSync(parent)) return
  for (const e of readdirSync(parent, { withFileTypes: true })) {
    if (!e.isDirectory()) continue
    try {
      rmdirSync(path.join(parent, e.name))
    } catch {
      // In use by a running bench.
    }
  }
}
