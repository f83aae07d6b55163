import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import type { Progress } from './progress.ts'
import { type Rng, zipfSampler } from './rng.ts'

export interface SubscriberSpec {
  restaurants: number
  rows: number
  /** Zipf exponent of subscribers per restaurant (0 = uniform). */
  skew: number
  /** Clients are drawn from a pool of rows/clientReuse, so a client follows ~clientReuse restaurants. 1 = every row a new client. */
  clientReuse: number
}

export interface Subscribers {
  restaurantIds: string[]
  /** Per restaurant: its distinct clients in PostgreSQL uuid order (= lowercase string order), i.e. fan-out order. */
  clientsOf: string[][]
  /** The subscribers_restaurants rows as (restaurant index, client) pairs. */
  rowRestaurant: Int32Array
  rowClient: string[]
}

export function generateSubscribers(spec: SubscriberSpec, rng: Rng): Subscribers {
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

/** Loads subscribers_restaurants with COPY FROM STDIN, 20k rows per chunk. */
export async function copySubscribers(pool: pg.Pool, subs: Subscribers, progress: Progress): Promise<void> {
  const client = await pool.connect()
  try {
    const n = subs.rowClient.length
    let done = 0
    async function* chunks() {
      for (let i = 0; i < n; i += 20000) {
        let s = ''
        const end = Math.min(n, i + 20000)
        for (let j = i; j < end; j++) s += `${subs.rowClient[j]}\t${subs.restaurantIds[subs.rowRestaurant[j]!]}\n`
        done = end
        progress.set(`loading subscribers ${done}/${n}`)
        yield s
      }
    }
    await pipeline(Readable.from(chunks()), client.query(copyFrom('copy subscribers_restaurants (client_id, restaurant_id) from stdin')))
    // A long-lived subscribers table is vacuumed: its visibility map lets the fan-out read the
    // (restaurant_id, client_id) index alone. Right after a bulk load it is not, and autovacuum would
    // otherwise run during the measurement.
    await client.query('vacuum analyze subscribers_restaurants')
  } finally {
    client.release()
  }
}
