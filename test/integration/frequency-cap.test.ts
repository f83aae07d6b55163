import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import { type Caps, capsOn } from '../../src/core/frequency-cap.ts'
import type { OfferstreamError } from '../../src/errors.ts'
import { CapGate } from '../../src/pg/cap-gate.ts'
import { CapLease } from '../../src/pg/cap-lease.ts'
import { translatePgError } from '../../src/pg/pg-errors.ts'
import { connectClient } from '../../src/pg/pool.ts'
import { PgShardOwner } from '../../src/pg/shard-owner.ts'
import { campaignStats } from '../../src/pg/sql/campaign-stats.ts'
import { insertEvents } from '../../src/pg/sql/insert-events.ts'
import { withTransaction } from '../../src/pg/transaction.ts'
import { PgWriterStore } from '../../src/pg/writer-store.ts'
import { pruneBookkeeping } from '../../src/service/retention.ts'
import { type CapPush, capVerdict, maxInWindow } from '../../testkit/cap-oracle.ts'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'

// The caps in PostgreSQL: the SQL rule agrees with core's, and fan-outs of different shards running
// at the same time over the same clients never let a client exceed a cap, never both push and
// suppress a pair, and leave every pair pushed or suppressed.
let fx: Fixture
before(async () => {
  fx = await createFixture()
  await new PgShardOwner(fx.pool).setup(fx.config.shards)
})
after(async () => fx?.cleanup())

// A small deterministic generator, so a failure can be replayed.
function rng(seed: number) {
  let s = seed >>> 0
  return (n: number) => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0
    return s % n
  }
}

interface World {
  caps: Caps
  restaurants: string[]
  /** restaurant -> its clients */
  audience: Map<string, string[]>
  campaigns: Array<{ campaignId: string; restaurantId: string; trigger: number; shard: number }>
}

let offset = 0
async function setUpWorld(seed: number, shards: number[], campaignsPerShard: number, caps: Caps): Promise<World> {
  const r = rng(seed)
  const restaurants = Array.from({ length: 6 }, () => randomUUID())
  const clients = Array.from({ length: 300 }, () => randomUUID())
  const audience = new Map(restaurants.map(x => [x, [] as string[]]))
  for (const c of clients) for (const x of restaurants) if (r(2) === 0) audience.get(x)!.push(c)
  await fx.addSubscribers([...audience].flatMap(([x, cs]) => cs.map(c => [c, x] as [string, string])))
  const T = 1_800_000_000
  const campaigns = shards.flatMap(shard =>
    Array.from({ length: campaignsPerShard }, () => ({
      campaignId: randomUUID(),
      restaurantId: restaurants[r(restaurants.length)]!,
      // Trigger times interleave between the shards and are not in the order the fan-outs commit.
      trigger: T + r(240),
      shard,
    })),
  )
  await storeFanning(campaigns)
  return { caps, restaurants, audience, campaigns }
}

/** Stores one fanning event per campaign, active for the next hour, at its trigger time and shard. */
async function storeFanning(campaigns: World['campaigns']): Promise<void> {
  const now = Math.floor(Date.now() / 1000)
  await withTransaction(fx.pool, c =>
    insertEvents(
      c,
      campaigns.map(k => ({
        topic: 'cap',
        partition: 0,
        offset: String(offset++),
        campaign: {
          restaurantId: k.restaurantId,
          campaignId: k.campaignId,
          content: 'x',
          owner: null,
          ownerContact: null,
          created: now,
          start: now - 60,
          end: now + 3600,
        },
        status: 'fanning' as const,
        trigger: k.trigger,
        shard: k.shard,
      })),
    ),
  )
}

/** Every pair pushed xor suppressed, no window over its cap, and each suppression justified by the pushes. */
async function checkWorld(w: World): Promise<{ pushed: number; suppressed: number }> {
  const ids = w.campaigns.map(c => c.campaignId)
  const pushed = await fx.pool.query<{ adv_campaign_id: string; client_id: string; restaurant_id: string; t: string }>(
    'select adv_campaign_id, client_id, restaurant_id, trigger_datetime_created as t from subscribers_feedback where adv_campaign_id = any($1::uuid[])',
    [ids],
  )
  const suppressed = await fx.pool.query<{ adv_campaign_id: string; client_id: string; restaurant_id: string; t: string; rule: string }>(
    'select adv_campaign_id, client_id, restaurant_id, trigger_datetime_created as t, rule from offerstream_suppressed where adv_campaign_id = any($1::uuid[])',
    [ids],
  )
  const key = (r: { adv_campaign_id: string; client_id: string }) => `${r.adv_campaign_id}/${r.client_id}`
  const pushedKeys = new Set(pushed.rows.map(key))
  assert.equal(pushedKeys.size, pushed.rows.length, 'no pair pushed twice')
  for (const s of suppressed.rows) assert.ok(!pushedKeys.has(key(s)), `pair ${key(s)} both pushed and suppressed`)
  const expected = new Set(w.campaigns.flatMap(c => w.audience.get(c.restaurantId)!.map(client => `${c.campaignId}/${client}`)))
  const got = new Set([...pushedKeys, ...suppressed.rows.map(key)])
  assert.equal(got.size, pushed.rows.length + suppressed.rows.length, 'no pair suppressed twice')
  assert.deepEqual(got, expected, 'every expected pair is pushed or suppressed, and nothing else')
  const history = new Map<string, CapPush[]>()
  for (const p of pushed.rows) {
    const h = history.get(p.client_id) ?? []
    h.push({ at: Number(p.t), restaurantId: p.restaurant_id })
    history.set(p.client_id, h)
  }
  for (const [client, h] of history) {
    if (w.caps.frequency) {
      const most = maxInWindow(
        h.map(x => x.at),
        w.caps.frequency.windowSeconds,
      )
      assert.ok(most <= w.caps.frequency.limit, `client ${client}: ${most} pushes in one window`)
    }
    if (w.caps.restaurant) {
      for (const x of w.restaurants) {
        const most = maxInWindow(
          h.filter(p => p.restaurantId === x).map(p => p.at),
          w.caps.restaurant.windowSeconds,
        )
        assert.ok(most <= w.caps.restaurant.limit, `client ${client}, restaurant ${x}: ${most} pushes in one window`)
      }
    }
  }
  // Pushes are only ever added, so a pair over the cap when it was decided is still over it
  // against the final pushes: no pair was suppressed that the cap did not require.
  for (const s of suppressed.rows) {
    const rule = capVerdict(history.get(s.client_id) ?? [], Number(s.t), s.restaurant_id, w.caps)
    assert.equal(rule, s.rule, `suppressed pair ${key(s)} with rule ${s.rule}`)
  }
  return { pushed: pushed.rows.length, suppressed: suppressed.rows.length }
}

const gates: CapGate[] = []
after(() => Promise.all(gates.map(g => g.close())))
/** One instance's caps: a gate with a lease connection of its own. */
function instance(caps: Caps): CapGate {
  const gate = new CapGate(caps, new CapLease(() => connectClient(fx.config.databaseUrl)))
  gates.push(gate)
  return gate
}

/**
 * A shard's writer, as the service runs it: up to 64 chunks per transaction under the shard lock.
 * Shards given one gate are one instance's; each new gate is another instance, with a history of its
 * own that only PostgreSQL connects to the others'.
 */
async function fanOutShard(shard: number, caps: Caps | CapGate, chunk: number): Promise<{ conflicts: number }> {
  const epoch = await new PgShardOwner(fx.pool).acquire(shard, 1, `test-${shard}`, true)
  assert.ok(epoch !== null)
  const gate = caps instanceof CapGate ? caps : capsOn(caps) ? instance(caps) : undefined
  const store = new PgWriterStore(fx.pool, shard, epoch, gate)
  let conflicts = 0
  for (;;) {
    try {
      const n = await store.transaction(async tx => {
        let chunks = 0
        for (let last = 0, i = 0; i < 64; i++) {
          const e = await tx.nextFanning(last, 64)
          if (!e) break
          last = e.id
          await tx.fanOutChunk(e, chunk, { nowSeconds: Math.floor(Date.now() / 1000), marginSeconds: 600 })
          chunks++
        }
        return chunks
      })
      if (n === 0) return { conflicts }
    } catch (error) {
      const e = translatePgError(error) as OfferstreamError
      if (e.code !== 'PG_CONFLICT') throw e
      conflicts++
    }
  }
}

test('cap across shards: two shards fanning out to the same clients at once keep every client within both caps', async () => {
  const caps: Caps = { frequency: { limit: 3, windowSeconds: 120 }, restaurant: { limit: 1, windowSeconds: 3600 } }
  const w = await setUpWorld(1, [5, 6], 12, caps)
  const [a, b] = await Promise.all([fanOutShard(5, caps, 23), fanOutShard(6, caps, 31)])
  assert.equal(a.conflicts + b.conflicts, 0, 'no deadlock: the cap lock orders the transactions')
  const r = await checkWorld(w)
  assert.ok(r.suppressed > 0 && r.pushed > 0, `the caps bit (${r.pushed} pushed, ${r.suppressed} suppressed)`)
  // Each campaign's statistics count its pushed and its suppressed pairs, which add up to its audience.
  for (const c of w.campaigns) {
    const s = await campaignStats(fx.pool, c.campaignId)
    assert.equal(s!.pushed + s!.suppressed, w.audience.get(c.restaurantId)!.length)
  }
  const { rows } = await fx.pool.query<{ n: number }>(
    'select count(*)::int as n from offerstream_suppressed where adv_campaign_id = any($1::uuid[])',
    [w.campaigns.map(c => c.campaignId)],
  )
  let counted = 0
  for (const c of w.campaigns) counted += (await campaignStats(fx.pool, c.campaignId))!.suppressed
  assert.equal(counted, rows[0]!.n)
})

test('cap across shards, four at once with small chunks, two instances of two shards each: same clients, no deadlock', async () => {
  const caps: Caps = { frequency: { limit: 2, windowSeconds: 90 }, restaurant: null }
  const shards = [7, 8, 9, 10]
  const w = await setUpWorld(2, shards, 8, caps)
  const instances = [instance(caps), instance(caps)]
  const runs = await Promise.all(shards.map((shard, i) => fanOutShard(shard, instances[i % 2]!, 11 + 6 * i)))
  assert.equal(
    runs.reduce((n, r) => n + r.conflicts, 0),
    0,
  )
  const r = await checkWorld(w)
  assert.ok(r.suppressed > 0, `the cap bit (${r.pushed} pushed, ${r.suppressed} suppressed)`)
})

test('a re-sent campaign never pushes a pair the cap suppressed before', async () => {
  const caps: Caps = { frequency: { limit: 1, windowSeconds: 3600 }, restaurant: null }
  const w = await setUpWorld(3, [11], 3, caps)
  await fanOutShard(11, caps, 1000)
  const before = await checkWorld(w)
  assert.ok(before.suppressed > 0)
  // The same campaigns again (new events), with the cap off: the suppressed pairs stay dropped.
  await storeFanning(w.campaigns.map(k => ({ ...k, trigger: k.trigger + 7200, shard: 11 })))
  await fanOutShard(11, { frequency: null, restaurant: null }, 1000)
  assert.deepEqual(await checkWorld(w), before)
})

test('prune --feedback-too with a cap on keeps every push a cap window may still compare against', async () => {
  const now = Math.floor(Date.now() / 1000)
  const prune = (caps?: Caps) => pruneBookkeeping(fx.pool, { cutoff: now, published: [], batch: 100, feedbackToo: true, caps })
  // Caps off: the cut-off as asked.
  assert.equal((await prune({ frequency: null, restaurant: null })).feedbackCutoff, now)
  // A 2 h window: no push still to come is older than now minus the clock slack (1 h) or than a
  // fan-out in progress, and it is compared with pushes up to 2 h before that.
  const { rows } = await fx.pool.query<{ t: number | null }>(
    "select min(trigger_datetime_created) as t from offerstream_events where status = 'fanning'",
  )
  const oldest = Math.min(rows[0]!.t ?? Number.POSITIVE_INFINITY, now - 3600)
  const on = await prune({ frequency: { limit: 2, windowSeconds: 7200 }, restaurant: null })
  assert.ok(Math.abs(on.feedbackCutoff - (oldest - 7200)) <= 2, `kept from ${on.feedbackCutoff}, expected about ${oldest - 7200}`)
})

test('a lease lost with its connection: the instance’s next capped transaction refuses to push (retryable) and the other instance takes over', async () => {
  const caps: Caps = { frequency: { limit: 1, windowSeconds: 3600 }, restaurant: null }
  const w = await setUpWorld(4, [0], 2, caps)
  const leaseA = new CapLease(() => connectClient(fx.config.databaseUrl))
  const a = new CapGate(caps, leaseA)
  gates.push(a)
  const b = instance(caps)
  await a.ready()
  const bHolds = b.ready()
  // B waits for the lease; A's connection (and with it the lease) goes, as when the server ends a frozen instance's session.
  await fx.pool.query('select pg_terminate_backend($1)', [leaseA.pid])
  await bHolds
  const epoch = await new PgShardOwner(fx.pool).acquire(0, 1, 'test-0', true)
  const store = new PgWriterStore(fx.pool, 0, epoch!, a)
  const attempt = store.transaction(async tx => {
    const e = await tx.nextFanning(0, 64)
    assert.ok(e)
    return tx.fanOutChunk(e, 1000, { nowSeconds: Math.floor(Date.now() / 1000), marginSeconds: 600 })
  })
  await assert.rejects(attempt, (e: OfferstreamError) => e.retryable && /lease was lost/.test(e.message))
  // A asks again, B (idle) hands over, A reads the window afresh and fans out within the cap.
  await fanOutShard(0, a, 1000)
  const r = await checkWorld(w)
  assert.ok(r.pushed > 0)
})

test('a wait for the lease ends when its writer stops, and close() does not wait for the holder', async () => {
  const caps: Caps = { frequency: { limit: 1, windowSeconds: 3600 }, restaurant: null }
  const a = instance(caps)
  const b = new CapGate(caps, new CapLease(() => connectClient(fx.config.databaseUrl)))
  await a.ready()
  // A capped transaction of A in flight: A hands the lease over only once it ends.
  const client = await fx.pool.connect()
  await client.query('begin')
  const view = await a.enter(client)
  const stop = new AbortController()
  const waiting = b.ready(stop.signal)
  await until(async () => (await fx.pool.query(`select 1 from pg_locks where locktype = 'advisory' and not granted`)).rowCount! > 0)
  stop.abort()
  // Bounded only so that a regression fails instead of hanging the suite.
  const within = <T>(p: Promise<T>, what: string) =>
    Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} still waits for the lease`)), 10_000))])
  await assert.rejects(
    within(waiting, 'ready()'),
    (e: OfferstreamError) => e.code === 'SHARD_LOST' && /stopped while waiting/.test(e.message),
  )
  await within(b.close(), 'close()')
  // Its lease connection ends with close(); the server drops the queued lock request with it.
  await until(async () => (await fx.pool.query(`select 1 from pg_locks where locktype = 'advisory' and not granted`)).rowCount === 0)
  a.committed(view)
  await client.query('commit')
  client.release()
})

async function until(ok: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error('condition not met within 10 s')
    await new Promise(r => setTimeout(r, 20))
  }
}
