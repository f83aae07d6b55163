import type { Config } from '../config/settings.ts'
import { campaignStateAt } from '../core/activity.ts'
import type { SettableState } from '../core/campaign-state.ts'
import type { ChunkResult } from '../pg/sql/fan-out-chunk.ts'
import type { FanningEvent } from '../pg/sql/fanning-events.ts'
import type { WriterTx } from './ports.ts'

// Most campaigns fanned out in one transaction, and the smallest chunk worth starting in it.
const MAX_EVENTS_PER_TX = 64
const MIN_CHUNK = 100
// Campaigns up to this size finish in their first chunk however far the relay is behind (its size
// + 1: a chunk that comes back short is what says the campaign is done).
const SMALL_CAMPAIGN = 1000

/** What one campaign's turn in a fan-out transaction did. */
export interface ChunkDone {
  /** The state the rule gave it instead of fanning on (it stopped, or was deferred). */
  stopped?: SettableState
  inserted: number
  suppressed: number
  campaignId: string
  /** The campaign's shard (a joint ingest transaction's round spans several). */
  shard: number
  finished: boolean
  /** A campaign of at most SMALL_CAMPAIGN subscribers written whole in its first chunk. */
  small?: boolean
}

/** What one fan-out round did: each campaign's turn; `exhausted`: every campaign of the round finished; `held`: one waited for the relay. */
export interface RoundResult {
  done: ChunkDone[]
  exhausted: boolean
  held: boolean
}

export interface RoundOptions {
  nowSeconds: number
  config: Pick<Config, 'activeMarginSeconds' | 'fanoutChunk'>
  /** Rows the shard's relay may still fall behind by (Unpublished.room()); Infinity: no limit. */
  room: number
  /** The id the round starts after (the last campaign taken by this shard's writer). */
  after: () => number
  /** Called with each campaign taken from the round, as it is taken. */
  taken: (id: number) => void
}

/**
 * One fan-out transaction's work for one shard: the next chunks of the shard's fanning campaigns in
 * round-robin order, up to fanoutChunk rows and MAX_EVENTS_PER_TX campaigns. Several campaigns share
 * one transaction, up to fanoutChunk rows in all: a commit (one WAL flush, the lock, BEGIN) cost
 * ~10 ms per campaign, which capped the writer at ~70 small campaigns/s and queued them (p50 1.8 s
 * at 100/s). Ranges stay contiguous per chunk and commit in id order. `exhausted`: the round ended
 * and every campaign in it finished; `held`: a campaign waited for the relay.
 */
export async function fanOutRound(tx: WriterTx, o: RoundOptions): Promise<RoundResult> {
  const done: ChunkDone[] = []
  let exhausted = false
  let held = false
  const { config } = o
  const now = o.nowSeconds
  let budget = config.fanoutChunk
  // While the shard's relay is behind, a campaign past its first chunk (so a big one) waits,
  // and a first chunk is cut to what fits, but never so short that a small campaign
  // (SMALL_CAMPAIGN) needs a second one: small campaigns always go at once.
  let room = o.room
  // A campaign taken from the round but not handled yet (read while gathering a batch).
  let peeked: FanningEvent | null | undefined
  const take = async () => {
    if (peeked !== undefined) {
      const e = peeked
      peeked = undefined
      return e
    }
    return tx.nextFanning(o.after(), MAX_EVENTS_PER_TX)
  }
  const record = (event: FanningEvent, r: ChunkResult, later: boolean) => {
    // Not live: the row changed between the round's read and the chunk's (the chunk re-read it as locked).
    const ruled = r.live ? 'fanning' : campaignStateAt(r.campaign, now, config.activeMarginSeconds)
    const stopped = ruled === 'fanning' ? undefined : ruled
    // Suppressed pairs are rows too (offerstream_suppressed): they use up the transaction's
    // budget, but only pushes wait for the relay.
    budget -= r.inserted + r.suppressed
    room -= r.inserted
    done.push({
      stopped,
      inserted: r.inserted,
      suppressed: r.suppressed,
      campaignId: event.campaignId,
      shard: event.shard,
      finished: r.finished || stopped !== undefined,
      small: !later && r.finished && r.inserted + r.suppressed <= SMALL_CAMPAIGN,
    })
    return stopped
  }
  /** The round's campaign is to fan out now; false (and its state set) if the rule says otherwise. */
  const fanningNow = async (event: FanningEvent) => {
    o.taken(event.id)
    // The campaign's current version and cancel, as locked for this transaction: a cancel
    // ends the event, an end moved earlier expires it, a start moved later defers it.
    const state = campaignStateAt(event, now, config.activeMarginSeconds)
    if (state === 'fanning') return true
    await tx.setState([event.id], state, null)
    done.push({ stopped: state, inserted: 0, suppressed: 0, campaignId: event.campaignId, shard: event.shard, finished: true })
    return false
  }
  while (done.length < MAX_EVENTS_PER_TX && budget >= MIN_CHUNK) {
    const event = await take()
    // The round is over: every fanning campaign had its turn.
    if (!event) {
      // ...and if each of them finished, nothing is left to fan out.
      exhausted = !held && done.every(d => d.finished)
      break
    }
    if (!(await fanningNow(event))) continue
    const later = event.fanoutAfter !== null
    if (later && room <= 0) {
      held = true
      continue
    }
    // First chunks of campaigns sent once go together, SMALL_CAMPAIGN + 1 rows at most each (so a
    // small one still finishes), in one statement while the budget covers them all.
    const batch = [event]
    while (batchable(event) && done.length + batch.length < MAX_EVENTS_PER_TX && (batch.length + 1) * (SMALL_CAMPAIGN + 1) <= budget) {
      peeked = await take()
      if (!peeked || !batchable(peeked)) break
      const next = peeked
      peeked = undefined
      if (await fanningNow(next)) batch.push(next)
    }
    if (batch.length > 1) {
      const results = await tx.fanOutFirstChunks(batch, SMALL_CAMPAIGN + 1, {
        nowSeconds: now,
        marginSeconds: config.activeMarginSeconds,
      })
      const stopped = batch.flatMap((e, i) => {
        const s = record(e, results[i]!, false)
        return s ? [[e.id, s] as const] : []
      })
      for (const [id, s] of stopped) await tx.setState([id], s, null)
      continue
    }
    const size = Math.min(budget, Math.max(room, later ? MIN_CHUNK : SMALL_CAMPAIGN + 1))
    const r = await tx.fanOutChunk(event, size, { nowSeconds: now, marginSeconds: config.activeMarginSeconds })
    const stopped = record(event, r, later)
    if (stopped) await tx.setState([event.id], stopped, null)
  }
  return { done, exhausted, held }
}

/** A first chunk of a campaign no other event reached: may share a statement with others (fanOutFirstChunks). */
const batchable = (e: FanningEvent) => e.fanoutAfter === null && !e.resent
