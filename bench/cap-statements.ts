// `node bench/cap-statements.ts [--pairs 250000] [--rounds 2] [--cap 2/24h] [--modes off,gate,one]`:
// the writer's PostgreSQL side alone against a running PostgreSQL (DATABASE_URL; KAFKA_BROKERS for
// the fixture), with the frequency cap off and on. A backlog of campaigns over 12 shards is fanned
// out by shard loops that take turns 4 at a time, as one instance's writers do (up to 64 campaigns
// and 50,000 pairs a transaction, through PgWriterStore); modes are interleaved round by round, so
// a noisy neighbour hits them alike. Prints pairs/s per run.
//   off   no cap: the one-statement chunk
//   gate  cap on: decided in memory by one CapGate under its lease (what the service does)
//   one   no cap, but one fan-out transaction at a time (what one lock per transaction costs by itself)
// Earlier designs (docs/frequency-cap.md) are gone from here: rows (per-client rows upserted under
// row locks, commit 38e90f9, deadlocked) and lock (one lock per transaction with a push log in PostgreSQL, commit
// b979209 and before).
import os from 'node:os'
import { parseArgs } from 'node:util'
import { type Caps, parseCap } from '../src/core/frequency-cap.ts'
import { ErrorCodes, type OfferstreamError } from '../src/errors.ts'
import { CapGate } from '../src/pg/cap-gate.ts'
import { CapLease } from '../src/pg/cap-lease.ts'
import { translatePgError } from '../src/pg/pg-errors.ts'
import { connectClient } from '../src/pg/pool.ts'
import { PgShardOwner } from '../src/pg/shard-owner.ts'
import { type EventRow, insertEvents } from '../src/pg/sql/insert-events.ts'
import { withTransaction } from '../src/pg/transaction.ts'
import { PgWriterStore } from '../src/pg/writer-store.ts'
import { Turns } from '../src/service/turns.ts'
import { copyAudience, sampledAudience } from '../testkit/audience.ts'
import { createFixture } from '../testkit/fixture.ts'
import { createRng } from '../testkit/rng.ts'
import { createProgress } from './progress.ts'

const { values: a } = parseArgs({
  options: {
    pairs: { type: 'string', default: '250000' },
    rounds: { type: 'string', default: '2' },
    cap: { type: 'string', default: '2/24h' },
    modes: { type: 'string', default: 'off,gate,one' },
    // Pairs per transaction; the service's OFFERSTREAM_FANOUT_CHUNK default is 10000.
    budget: { type: 'string', default: '10000' },
    // A mode that has not finished by then stops and reports the rate so far (rows mode deadlocks).
    'max-seconds': { type: 'string', default: '120' },
  },
})
const MAX_MS = Number(a['max-seconds']) * 1000
const parsed = parseCap(String(a.cap))
if (!('cap' in parsed) || !parsed.cap) throw new Error(`--cap: ${'error' in parsed ? parsed.error : 'needs a cap'}`)
const CAPS: Caps = { frequency: parsed.cap, restaurant: null }
const SHARDS = 12
const p = createProgress('cap-statements')
const fx = await createFixture()
await new PgShardOwner(fx.pool).setup(SHARDS)
const epochs: number[] = []
for (let shard = 0; shard < SHARDS; shard++) epochs.push((await new PgShardOwner(fx.pool).acquire(shard, 1, 'bench', true))!)
const rng = createRng(17)
const subs = sampledAudience({ restaurants: 300, rows: 300_000, skew: 0.8, clientReuse: 3 }, rng)
await copyAudience(fx.pool, subs, (done, total) => p.set(`loading subscribers ${done}/${total}`))
let offset = 0

async function backlog(pairs: number): Promise<number> {
  const now = Math.floor(Date.now() / 1000)
  const events: EventRow[] = []
  let total = 0
  while (total < pairs) {
    const r = rng.int(subs.restaurantIds.length)
    total += subs.clientsOf[r]!.length
    events.push({
      topic: 'b',
      partition: 0,
      offset: String(offset++),
      campaign: {
        restaurantId: subs.restaurantIds[r]!,
        campaignId: rng.uuid(),
        content: 'bench',
        owner: null,
        ownerContact: null,
        created: now,
        start: now - 60,
        end: now + 3600,
      },
      status: 'fanning' as const,
      trigger: now + rng.int(60),
      shard: events.length % SHARDS,
    })
  }
  await withTransaction(fx.pool, c => insertEvents(c, events))
  return total
}

async function run(mode: string, pairs: number) {
  await fx.pool.query('truncate subscribers_feedback, offerstream_fanouts, offerstream_events, offerstream_suppressed')
  const total = await backlog(pairs)
  await fx.pool.query('checkpoint')
  // One gate: one instance's writers share it. Made anew per run, so each run reads its history from the start.
  const gate = mode === 'gate' ? new CapGate(CAPS, new CapLease(() => connectClient(fx.config.databaseUrl))) : undefined
  const turns = new Turns(mode === 'one' ? 1 : 4)
  let deadlocks = 0
  let transactions = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: SHARDS }, async (_, shard) => {
      for (let more = true; more && performance.now() - t0 < MAX_MS; ) {
        const end = await turns.take()
        try {
          const store = new PgWriterStore(fx.pool, shard, epochs[shard]!, gate)
          more = await store.transaction(async tx => {
            let budget = Number(a.budget)
            let any = false
            for (let last = 0; budget >= 100; ) {
              const e = await tx.nextFanning(last, 64)
              if (!e) break
              last = e.id
              any = true
              const r = await tx.fanOutChunk(e, budget, { nowSeconds: Math.floor(Date.now() / 1000), marginSeconds: 600 })
              budget -= r.inserted + r.suppressed
            }
            return any
          })
          transactions++
        } catch (error) {
          const e = translatePgError(error) as OfferstreamError
          if (e.code !== ErrorCodes.PG_CONFLICT) throw e
          deadlocks++
        } finally {
          end()
        }
      }
    }),
  )
  const seconds = (performance.now() - t0) / 1000
  await gate?.close()
  const { rows } = await fx.pool.query<{ pushed: number; suppressed: number }>(
    'select (select count(*) from subscribers_feedback)::int as pushed, (select count(*) from offerstream_suppressed)::int as suppressed',
  )
  const r = rows[0]!
  const done = r.pushed + r.suppressed
  if (done !== total && seconds * 1000 < MAX_MS) throw new Error(`${mode}: ${r.pushed} + ${r.suppressed} != ${total}`)
  return {
    mode,
    pairs: total,
    done,
    seconds: +seconds.toFixed(2),
    pairsPerSecond: Math.round(done / seconds),
    ...r,
    suppressedPct: +((100 * r.suppressed) / done).toFixed(1),
    transactions,
    deadlocks,
  }
}

const results = []
try {
  for (let round = 0; round < Number(a.rounds); round++) {
    for (const mode of String(a.modes).split(',')) {
      p.set(`round ${round + 1}: ${mode}`)
      const r = await run(mode, Number(a.pairs))
      results.push({ ...r, load: os.loadavg()[0]!.toFixed(2) })
      process.stdout.write(`${JSON.stringify(results.at(-1))}\n`)
    }
  }
  p.done(`cap ${a.cap}`)
  console.table(results)
} finally {
  await fx.cleanup()
}
process.exit(0)
