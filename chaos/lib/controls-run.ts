import type { Fixture } from '../../testkit/fixture.ts'
import type { Rng } from '../../testkit/rng.ts'
import { readTopic, type SinkReport, type Tally } from '../../testkit/sinks.ts'
import { buildKeyedWorkload, type KeyedRecord, type KeyedWorkload } from '../../testkit/workload.ts'

// The workload and oracle of `npm run chaos -- --scenario controls` (issue 17): the keyed stream of
// the scale scenario with cancels and updates mixed in, each placed in its campaign's own input
// partition (keyed by its restaurant) so its order relative to the campaign is known:
//  - cancel first: the cancel precedes the campaign; the campaign must never push;
//  - cancel later: somewhere after the campaign; any subset of its pairs may exist, each once;
//  - update: a second version (new content, later datetime_created) after the campaign; every pair
//    exactly once, carrying one of the two versions.
// Whatever happened, both sinks must hold the same pairs with the same content. With a frequency
// cap on, a pair may instead be in offerstream_suppressed (never both).

export interface ControlsWorkload extends KeyedWorkload {
  /** Campaign id -> what was done to it. */
  plan: Map<string, 'cancelFirst' | 'cancelLater' | 'update'>
  /** Every pair the campaigns could reach (the restaurant's subscribers). */
  possible: Set<string>
  /** Content of each version, by campaign id. */
  contents: Map<string, string[]>
}

/** What became of the pairs the campaigns could reach (distinct pairs, PostgreSQL's side). */
export interface PairCounts {
  pushed: number
  /** Kept back by a frequency cap (offerstream_suppressed). */
  suppressed: number
  /** Pairs of cancelled campaigns neither pushed nor suppressed: what the cancels saved. */
  cancelledAway: number
}

export function buildControlsWorkload(o: { pushes: number; partitions: number; rng: Rng }): ControlsWorkload {
  // No hostile values: the DLQ must stay empty (a restaurant mismatch would show there).
  const w = buildKeyedWorkload({ pushes: o.pushes, partitions: o.partitions, rng: o.rng, bad: 0, subscribersPerRestaurant: 500 })
  const copies = new Map<string, number>()
  const parsed = w.records.map(r => (r.value ? (JSON.parse(r.value.toString()) as Record<string, unknown>) : undefined))
  for (const c of parsed)
    if (typeof c?.adv_campaign_id === 'string') copies.set(c.adv_campaign_id, (copies.get(c.adv_campaign_id) ?? 0) + 1)
  const plan = new Map<string, 'cancelFirst' | 'cancelLater' | 'update'>()
  const contents = new Map<string, string[]>()
  const records: KeyedRecord[] = []
  const later: Array<{ after: number; record: KeyedRecord }> = []
  for (const [i, c] of parsed.entries()) {
    const r = w.records[i]!
    const id = c?.adv_campaign_id
    // Re-sent copies go to another partition, whose order relative to a cancel is unknown: left alone.
    if (typeof id !== 'string' || copies.get(id) !== 1 || typeof c?.restaurant_id !== 'string') {
      records.push(r)
      continue
    }
    contents.set(id, [String(c.adv_campaign_content)])
    const u = o.rng.next()
    const cancel = { key: r.key, value: Buffer.from(JSON.stringify({ ...c, adv_campaign_status: 'cancelled' })), pairsNow: 0 }
    if (u < 0.1) {
      plan.set(id, 'cancelFirst')
      records.push(cancel, { ...r, pairsNow: 0 })
      continue
    }
    records.push(u < 0.2 ? { ...r, pairsNow: 0 } : r)
    if (u < 0.2) {
      plan.set(id, 'cancelLater')
      later.push({ after: records.length, record: cancel })
    } else if (u < 0.35) {
      plan.set(id, 'update')
      const v2 = `${c.adv_campaign_content} (v2)`
      contents.get(id)!.push(v2)
      const value = { ...c, adv_campaign_content: v2, datetime_created: Number(c.datetime_created) + 1 }
      later.push({ after: records.length, record: { key: r.key, value: Buffer.from(JSON.stringify(value)), pairsNow: 0 } })
    }
  }
  // Each later record at a random place after its campaign (inserted from the back so places hold).
  const placed = later.map(l => ({ ...l, at: l.after + o.rng.int(Math.max(1, records.length - l.after + 1)) }))
  placed.sort((a, b) => b.at - a.at)
  for (const p of placed) records.splice(p.at, 0, p.record)
  const possible = new Set(w.expected)
  // What must be there: the pairs of every campaign not cancelled (updated ones included).
  const expected = new Set([...w.expected].filter(k => !plan.get(k.slice(0, 36))?.startsWith('cancel')))
  return { ...w, records, expected, plan, possible, contents }
}

/**
 * Waits until no campaign is fanning or due and the output topic holds every row, then checks
 * both sinks against the plan. The report's tallies count, per sink: missing (a pair that must be
 * there), duplicated, unexpected (a pair no campaign could reach, of a campaign cancelled before it
 * arrived, pushed and suppressed, with a content that is no version of it, or not in the other sink).
 */
export async function checkControls(
  fx: Fixture,
  w: ControlsWorkload,
  timeoutMs: number,
): Promise<SinkReport & { cancelledPushed: number; pairs: PairCounts; why: Record<string, number> }> {
  const deadline = Date.now() + timeoutMs
  const suppressed = new Set<string>()
  const readPg = () =>
    fx.pool.query<{ k: string; content: string; n: number }>(
      `select adv_campaign_id || '/' || client_id as k, adv_campaign_content as content, count(*)::int as n from subscribers_feedback group by 1, 2`,
    )
  let pg = await readPg()
  for (;;) {
    // Every must-pair pushed (or suppressed) and nothing fanning or due: early campaigns come due
    // seconds after the input is in, so "nothing fanning" alone could be read too soon.
    const suppressedTable = await fx.pool.query<{ t: string | null }>(`select to_regclass('offerstream_suppressed')::text as t`)
    if (suppressedTable.rows[0]?.t) {
      const s = await fx.pool.query<{ k: string }>(`select adv_campaign_id || '/' || client_id as k from offerstream_suppressed`)
      for (const r of s.rows) suppressed.add(r.k)
    }
    const { rows } = await fx.pool.query<{ n: number }>(
      `select count(*)::int as n from offerstream_events e join offerstream_campaigns c using (adv_campaign_id)
       where e.status = 'fanning' or (e.status = 'pending' and c.adv_campaign_datetime_start <= extract(epoch from now()))`,
    )
    pg = await readPg()
    const have = new Set(pg.rows.map(r => r.k))
    const owed = [...w.expected].filter(k => !have.has(k) && !suppressed.has(k)).length
    if ((rows[0]!.n === 0 && owed === 0) || Date.now() > deadline) break
    await new Promise(r => setTimeout(r, 1000))
  }
  const total = pg.rows.reduce((a, r) => a + r.n, 0)
  const pushes = await readTopic(fx.config.kafkaBrokers, fx.config.outputTopic, {
    atLeast: total,
    timeoutMs: Math.max(1000, deadline - Date.now()),
    settleMs: 3000,
  })
  const pgPairs = new Map<string, { n: number; content: string }>()
  for (const r of pg.rows) {
    const prev = pgPairs.get(r.k)
    pgPairs.set(r.k, { n: (prev?.n ?? 0) + r.n, content: r.content })
  }
  const kafkaPairs = new Map<string, { n: number; content: string }>()
  for (const p of pushes) {
    const v = JSON.parse(p.value!.toString()) as { adv_campaign_id: string; client_id: string; adv_campaign_content: string }
    const k = `${v.adv_campaign_id}/${v.client_id}`
    kafkaPairs.set(k, { n: (kafkaPairs.get(k)?.n ?? 0) + 1, content: v.adv_campaign_content })
  }
  const allowed = (k: string, content: string) => {
    const id = k.slice(0, 36)
    const versions = w.contents.get(id)
    return w.possible.has(k) && w.plan.get(id) !== 'cancelFirst' && !suppressed.has(k) && (!versions || versions.includes(content))
  }
  const tally = (mine: Map<string, { n: number; content: string }>, other: Map<string, { n: number; content: string }>): Tally => ({
    missing: [...w.expected].filter(k => !mine.has(k) && !suppressed.has(k)).length,
    duplicated: [...mine.values()].filter(v => v.n > 1).length,
    unexpected: [...mine].filter(([k, v]) => !allowed(k, v.content) || other.get(k)?.content !== v.content).length,
    total: [...mine.values()].reduce((a, v) => a + v.n, 0),
  })
  // Why pairs were unexpected, for the log (each pair counted once, by its first reason, PostgreSQL's side).
  const why: Record<string, number> = {}
  for (const [k, v] of pgPairs) {
    const id = k.slice(0, 36)
    const reason = !w.possible.has(k)
      ? 'notInAudience'
      : w.plan.get(id) === 'cancelFirst'
        ? 'cancelledBeforeArrival'
        : suppressed.has(k)
          ? 'alsoSuppressed'
          : !(w.contents.get(id) ?? [v.content]).includes(v.content)
            ? 'noSuchVersion'
            : kafkaPairs.get(k)?.content !== v.content
              ? 'sinksDiffer'
              : undefined
    if (reason) why[`${reason}:${w.plan.get(id) ?? 'plain'}`] = (why[`${reason}:${w.plan.get(id) ?? 'plain'}`] ?? 0) + 1
  }
  const cancelledPushed = [...pgPairs.keys()].filter(k => w.plan.get(k.slice(0, 36)) === 'cancelLater').length
  const pushedMust = [...w.expected].filter(k => pgPairs.has(k)).length
  const cancelledAway = [...w.possible].filter(
    k => w.plan.get(k.slice(0, 36))?.startsWith('cancel') && !pgPairs.has(k) && !suppressed.has(k),
  ).length
  return {
    // What exactness means here: the must-pairs pushed, plus the cancelled campaigns' pairs pushed before their cancels.
    expected: pushedMust + cancelledPushed,
    pg: tally(pgPairs, kafkaPairs),
    kafka: tally(kafkaPairs, pgPairs),
    cancelledPushed,
    pairs: { pushed: pgPairs.size, suppressed: suppressed.size, cancelledAway },
    why,
  }
}
