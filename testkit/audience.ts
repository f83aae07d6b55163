import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import type { Rng } from './rng.ts'
import { zipfSampler } from './rng.ts'

// Who follows which restaurant (subscribers_restaurants), generated from a seed.

export interface Audience {
  restaurantIds: string[]
  /** Per restaurant: its distinct clients in PostgreSQL uuid order (= lowercase string order), i.e. fan-out order. */
  clientsOf: string[][]
  /** The subscribers_restaurants rows as (restaurant index, client) pairs. */
  rowRestaurant: Int32Array
  rowClient: string[]
}

export interface SampledAudienceSpec {
  restaurants: number
  rows: number
  /** Zipf exponent of subscribers per restaurant (0 = uniform). */
  skew: number
  /**
   * Overlapping audiences: clients are drawn from a pool of rows/clientReuse, so a client follows
   * ~clientReuse restaurants. 1 = every row a new client.
   */
  clientReuse: number
}

/** Each row's restaurant drawn by Zipf rank, its client from the shared pool (the bench's audiences). */
export function sampledAudience(spec: SampledAudienceSpec, rng: Rng): Audience {
  const restaurantIds = Array.from({ length: spec.restaurants }, () => rng.uuid())
  const pick = zipfSampler(spec.restaurants, spec.skew, rng)
  const poolSize = Math.max(1, Math.round(spec.rows / spec.clientReuse))
  const pool = spec.clientReuse === 1 ? [] : Array.from({ length: poolSize }, () => rng.uuid())
  const rowRestaurant = new Int32Array(spec.rows)
  const rowClient = new Array<string>(spec.rows)
  const sets = Array.from({ length: spec.restaurants }, () => new Set<string>())
  for (let i = 0; i < spec.rows; i++) {
    const r = pick()
    const c = spec.clientReuse === 1 ? rng.uuid() : pool[rng.int(poolSize)]!
    rowRestaurant[i] = r
    rowClient[i] = c
    sets[r]!.add(c)
  }
  const clientsOf = sets.map(s => [...s].sort())
  return { restaurantIds, clientsOf, rowRestaurant, rowClient }
}

/** Restaurant i gets exactly sizes[i] clients of its own (no overlap): e.g. uniform [2000, 2000, …], or one big restaurant. */
export function exactAudience(sizes: number[], rng: Rng): Audience {
  const restaurantIds = sizes.map(() => rng.uuid())
  const rows = sizes.reduce((a, b) => a + b, 0)
  const rowRestaurant = new Int32Array(rows)
  const rowClient = new Array<string>(rows)
  const clientsOf: string[][] = []
  let row = 0
  sizes.forEach((size, r) => {
    const clients = Array.from({ length: size }, () => rng.uuid())
    for (const c of clients) {
      rowRestaurant[row] = r
      rowClient[row++] = c
    }
    clientsOf.push(clients.sort())
  })
  return { restaurantIds, clientsOf, rowRestaurant, rowClient }
}

/** The rows as [client, restaurant] pairs, as Fixture.addSubscribers takes them. */
export function subscriptionPairs(a: Audience): Array<[clientId: string, restaurantId: string]> {
  return a.rowClient.map((c, i) => [c, a.restaurantIds[a.rowRestaurant[i]!]!])
}

/** Loads subscribers_restaurants with COPY FROM STDIN, 20k rows per chunk; `progress(done, total)` after each. */
export async function copyAudience(pool: pg.Pool, a: Audience, progress?: (done: number, total: number) => void): Promise<void> {
  const client = await pool.connect()
  try {
    const n = a.rowClient.length
    async function* chunks() {
      for (let i = 0; i < n; i += 20000) {
        let s = ''
        const end = Math.min(n, i + 20000)
        for (let j = i; j < end; j++) s += `${a.rowClient[j]}\t${a.restaurantIds[a.rowRestaurant[j]!]}\n`
        progress?.(end, n)
        yield s
      }
    }
    await pipeline(Readable.from(chunks()), client.query(copyFrom('copy subscribers_restaurants (client_id, restaurant_id) from stdin')))
    // A long-lived subscribers table is vacuumed: its visibility map lets the fan-out read the
    // (restaurant_id, client_id) index alone. Right after a bulk load it is not, and autovacuum would
    // otherwise run during a measurement.
    await client.query('vacuum analyze subscribers_restaurants')
  } finally {
    client.release()
  }
}
