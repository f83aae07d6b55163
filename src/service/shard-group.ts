import type { MembershipEvents } from '../kafka/shard-membership.ts'
import type { Logger } from './logger.ts'
import type { Clock } from './ports.ts'
import { retry } from './retry.ts'

/** A shard group membership as the service uses it (src/kafka/shard-membership.ts). */
interface Member {
  start(): Promise<void>
  close(): Promise<void>
}

export interface ShardGroupDeps {
  createMember(events: MembershipEvents): Member
  /** The assignment and heartbeat events, passed on. */
  events: Omit<MembershipEvents, 'onFailure'>
  log: Logger
  clock: Clock
  retryMaxDelayMs: number
  /** Aborted when the service stops: ends the initial join's and the rebuilds' retries. */
  signal: AbortSignal
  /** A rebuild failed for good: this instance could never own a shard again. */
  onFatal(error: Error): void
}

/**
 * Joins the shard group; the promise settles once joined (or the join gave up). A membership the
 * client gave up on is rebuilt, retried for as long as it takes (the shards keep running
 * meanwhile, fenced if moved) or until the signal aborts. leave() waits for a join or rebuild in
 * progress, then closes whatever membership there is: none is left open behind it.
 */
export function joinShardGroup(d: ShardGroupDeps): { joined: Promise<void>; leave(): Promise<void> } {
  const { signal } = d
  let current: Member | undefined
  let rebuilding: Promise<void> | undefined
  const retryOptions = { clock: d.clock, maxDelayMs: d.retryMaxDelayMs, signal }
  const build = async (): Promise<void> => {
    const m: Member = d.createMember({
      ...d.events,
      onFailure: error => {
        if (rebuilding || current !== m || signal.aborted) return
        d.log.warn({ err: error.message }, 'shard group membership failed; rejoining')
        current = undefined
        rebuilding = (async () => {
          await m.close()
          // Anything but a retryable failure ends the service, like any non-retryable failure.
          await retry(build, retryOptions).catch(error => {
            if (!signal.aborted) d.onFatal(error as Error)
          })
          rebuilding = undefined
        })()
      },
    })
    try {
      await m.start()
    } catch (error) {
      await m.close()
      throw error
    }
    // Joined after stop began: leave at once, nothing else would.
    if (signal.aborted) await m.close()
    else current = m
  }
  const joined = retry(build, {
    ...retryOptions,
    onRetry: (e, _attempt, delay) =>
      d.log.warn({ code: e.code, err: e.message, retryInMs: delay }, 'joining the shard group failed; retrying'),
  })
  return {
    joined,
    async leave() {
      await joined.catch(() => {})
      await rebuilding
      const m = current
      current = undefined
      await m?.close()
    },
  }
}
