import { verifySinks } from '../../testkit/expected.ts'
import type { Fixture } from '../../testkit/fixture.ts'

// Waiting for the service to finish, and the exact check of both sinks afterwards.

export async function feedbackCount(fx: Fixture): Promise<number | undefined> {
  // During a database restart this fails; the caller just samples again.
  return fx.pool
    .query('select count(*)::int as n from subscribers_feedback')
    .then(r => r.rows[0].n as number)
    .catch(() => undefined)
}

/** Waits until PostgreSQL holds at least `want` rows or the time is up; returns the last count. */
export async function waitForFeedback(fx: Fixture, want: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs
  let n = 0
  while (Date.now() < deadline) {
    n = (await feedbackCount(fx)) ?? n
    if (n >= want) break
    await new Promise(r => setTimeout(r, 250))
  }
  return n
}

export interface SinkReport {
  expected: number
  pg: { missing: number; duplicated: number; unexpected: number; total: number }
  kafka: { missing: number; duplicated: number; unexpected: number; total: number }
}

/** Reads push_message read_committed until `expected` arrived plus a quiet period, then compares. */
export async function checkSinks(fx: Fixture, expected: Set<string>, timeoutMs: number): Promise<SinkReport> {
  await waitForFeedback(fx, expected.size, timeoutMs)
  const pushes = await fx.readTopic(fx.config.outputTopic, { atLeast: expected.size, timeoutMs, settleMs: 3000 })
  return verifySinks(fx.pool, pushes, expected)
}

export function sinksExact(r: SinkReport): boolean {
  const ok = (s: SinkReport['pg']) => s.missing === 0 && s.duplicated === 0 && s.unexpected === 0 && s.total === r.expected
  return ok(r.pg) && ok(r.kafka)
}
