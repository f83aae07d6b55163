import { Admin } from '@platformatic/kafka'

const INTERNAL = ['__consumer_offsets', '__transaction_state']

export interface ClusterHealth {
  /** Brokers registered (unfenced) in the cluster's metadata. */
  brokers: number
  /** Partitions of the given topics whose in-sync set is smaller than their replica set. */
  underReplicated: number
  /** Per internal topic, how many of its partitions each broker holds, by broker id. */
  internal: Record<string, Record<number, number>>
}

/** What an operator would check after a broker came back: all brokers in, all replicas in sync. */
async function clusterHealth(bootstrap: string[], topics: string[]): Promise<ClusterHealth> {
  const admin = new Admin({ clientId: 'chaos-health', bootstrapBrokers: bootstrap, retries: 1, timeout: 5000 })
  try {
    const meta = await admin.metadata({ topics, forceUpdate: true })
    let underReplicated = 0
    for (const topic of meta.topics.values()) {
      for (const p of topic?.partitions ?? []) if (p.isr.length < p.replicas.length) underReplicated++
    }
    // Internal topics are not in the client's metadata; the log dirs show where their replicas live.
    const dirs = await admin.describeLogDirs({
      topics: INTERNAL.map(name => ({ name, partitions: Array.from({ length: 50 }, (_, i) => i) })),
    })
    const internal: ClusterHealth['internal'] = Object.fromEntries(INTERNAL.map(t => [t, {}]))
    for (const broker of dirs) {
      for (const dir of broker.results) {
        for (const t of dir.topics) {
          const perBroker = internal[t.name]
          if (perBroker) perBroker[broker.broker] = (perBroker[broker.broker] ?? 0) + t.partitions.length
        }
      }
    }
    return { brokers: meta.brokers.size, underReplicated, internal }
  } finally {
    await admin.close().catch(() => {})
  }
}

/** Polls until no partition of the topics is under-replicated or the time is up; returns the last health. */
export async function waitForInSync(bootstrap: string[], topics: string[], timeoutMs: number): Promise<ClusterHealth> {
  const deadline = Date.now() + timeoutMs
  let health = await clusterHealth(bootstrap, topics)
  while (health.underReplicated > 0 && Date.now() < deadline) {
    await new Promise(r => setTimeout(r, 250))
    health = await clusterHealth(bootstrap, topics)
  }
  return health
}

/** Leader of partition 0 of a topic: the broker to kill to force a leader change on it. */
export async function leaderOf(bootstrap: string[], topic: string): Promise<number> {
  const admin = new Admin({ clientId: 'chaos-leader', bootstrapBrokers: bootstrap })
  try {
    const meta = await admin.metadata({ topics: [topic], forceUpdate: true })
    const leader = meta.topics.get(topic)?.partitions[0]?.leader
    if (leader === undefined || leader < 0) throw new Error(`no leader for ${topic}-0`)
    return leader
  } finally {
    await admin.close().catch(() => {})
  }
}
