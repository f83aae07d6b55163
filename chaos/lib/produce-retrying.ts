import type { Fixture } from '../../testkit/fixture.ts'

/**
 * Produces the values, retrying while the test's own producer still holds metadata of a broker that
 * was just stopped or restarted (it refreshes on its next attempt). Bounded: ~20 s, then the error.
 */
export async function produceRetrying(fx: Fixture, values: Array<string | Buffer | null>, key?: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await fx.produce(values, key)
      return
    } catch (error) {
      if (i > 20) throw error
      await new Promise(r => setTimeout(r, 1000))
    }
  }
}
