import { readdirSync, readFileSync, readlinkSync } from 'node:fs'

// Where the machine's CPU went during a measured window, per component (Kafka broker, PostgreSQL,
// the service, the bench itself, everything else), from /proc/<pid>/stat. On a 2-core machine all of
// them compete, so this says which one a throughput number is really paying for.

const TICK = 100 // USER_HZ on Linux

type Snapshot = Map<number, { who: string; ticks: number }>

/** The processes of the stack under test; without it every JVM counts as 'kafka' and every postgres as 'postgres'. */
export interface StackPids {
  brokers: number[]
  /** The postmaster; its children are its backends and workers. */
  postmaster: number | undefined
}

function classify(pid: number, ppid: number, comm: string, servicePids: Array<number | undefined>, stack?: StackPids): string {
  if (pid === process.pid) return 'bench'
  if (servicePids.includes(pid)) return 'service'
  // On a machine running other stacks (other jobs' brokers and databases), only this run's count.
  if (comm === 'java') return !stack || stack.brokers.includes(pid) ? 'kafka' : 'other'
  if (comm === 'postgres') return !stack?.postmaster || pid === stack.postmaster || ppid === stack.postmaster ? 'postgres' : 'other'
  return 'other'
}

// PostgreSQL's own processes by role (from the process title), to tell queries from maintenance.
function postgresRole(pid: number): string {
  try {
    const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
    const m = /postgres: (autovacuum|checkpointer|walwriter|background writer|logical|io worker|walsummarizer)/.exec(title)
    return m ? `pg ${m[1]}` : 'pg backends'
  } catch {
    return 'pg backends'
  }
}

/** `servicePids`: every instance of the service under test, counted together as 'service'. */
export function cpuSnapshot(servicePids: Array<number | undefined> = [], stack?: StackPids): Snapshot {
  const snap: Snapshot = new Map()
  for (const name of readdirSync('/proc')) {
    const pid = Number(name)
    if (!Number.isInteger(pid)) continue
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const close = stat.lastIndexOf(')')
      const comm = stat.slice(stat.indexOf('(') + 1, close)
      const f = stat.slice(close + 2).split(' ')
      // utime, stime, cutime, cstime: fields 14-17, i.e. 11-14 after the comm. Children's time counts
      // for the parent once reaped (short-lived PostgreSQL backends land on the postmaster).
      const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])
      const who = classify(pid, Number(f[1]), comm, servicePids, stack)
      snap.set(pid, { who, ticks })
      if (who === 'postgres') snap.set(-pid, { who: postgresRole(pid), ticks })
    } catch {
      // The process exited while listing.
    }
  }
  return snap
}

/** CPU seconds per component between two snapshots, plus the machine's total capacity over the window. */
export function cpuSeconds(before: Snapshot, after: Snapshot, wallSeconds: number, cores: number): Record<string, number> {
  const out: Record<string, number> = { kafka: 0, postgres: 0, service: 0, bench: 0, other: 0 }
  // Negative keys are the PostgreSQL breakdown (already counted in 'postgres'); shown after the rest.
  for (const [pid, a] of after) {
    const b = before.get(pid)
    out[a.who] = (out[a.who] ?? 0) + (a.ticks - (b?.ticks ?? 0)) / TICK
  }
  for (const k of Object.keys(out)) out[k] = Math.round(out[k]! * 100) / 100
  out.capacity = Math.round(wallSeconds * cores * 100) / 100
  return out
}

/**
 * The brokers and the postmaster of a run: the processes listening on the ports of `brokers`
 * (host:port,...) and of `databaseUrl`, found through /proc/net/tcp* and the sockets in
 * /proc/<pid>/fd. Undefined when the brokers are not found (not ours to read).
 */
export function stackPids(brokers: string[], databaseUrl: string): StackPids | undefined {
  const kafka = listeningPids(brokers.map(b => Number(b.slice(b.lastIndexOf(':') + 1))))
  if (kafka.length === 0) return undefined
  const [postmaster] = listeningPids([Number(new URL(databaseUrl).port || 5432)])
  return { brokers: kafka, postmaster }
}

function listeningPids(ports: number[]): number[] {
  const wanted = new Set(ports)
  const inodes = new Set<string>()
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = ''
    try {
      text = readFileSync(table, 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      // local address hex-ip:hex-port, state 0A = LISTEN, the socket's inode in column 10
      if (f.length > 9 && f[3] === '0A' && wanted.has(Number.parseInt(f[1]!.split(':')[1]!, 16))) inodes.add(f[9]!)
    }
  }
  const socketOf = (link: string) => /^socket:\[(\d+)\]$/.exec(link)?.[1] ?? ''
  const pids: number[] = []
  for (const name of readdirSync('/proc')) {
    const pid = Number(name)
    if (!Number.isInteger(pid)) continue
    try {
      if (readdirSync(`/proc/${pid}/fd`).some(fd => inodes.has(socketOf(readlinkSync(`/proc/${pid}/fd/${fd}`))))) pids.push(pid)
    } catch {
      // Exited, or not ours to read.
    }
  }
  return pids
}
