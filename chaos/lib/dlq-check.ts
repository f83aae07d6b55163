import { RejectCodes } from '../../src/core/reject-reason.ts'
import type { Fixture } from '../../testkit/fixture.ts'

export interface DlqReport {
  received: number
  /** Bad values produced that are not in the DLQ (counted per copy). */
  missing: number
  /** DLQ records beyond the bad values produced: duplicates or good input rejected. */
  extra: number
  withoutReason: number
  unknownCode: number
}

const CODES = new Set<string>(Object.values(RejectCodes))
const fingerprint = (v: Buffer | null) => (v === null ? '<null>' : v.toString('base64'))

/** Reads the DLQ (read_committed) and matches it byte for byte against the bad values produced, each once. */
export async function checkDlq(fx: Fixture, bad: Array<Buffer | null>, timeoutMs: number): Promise<DlqReport> {
  const left = new Map<string, number>()
  for (const v of bad) left.set(fingerprint(v), (left.get(fingerprint(v)) ?? 0) + 1)
  const records = await fx.readTopic(fx.config.dlqTopic, { atLeast: bad.length, timeoutMs, settleMs: 3000 })
  const report = { received: records.length, missing: 0, extra: 0, withoutReason: 0, unknownCode: 0 }
  for (const d of records) {
    const f = fingerprint(d.value)
    const n = left.get(f) ?? 0
    if (n === 0) report.extra++
    else left.set(f, n - 1)
    if (!d.headers.get('offerstream.error.reason')) report.withoutReason++
    if (!CODES.has(d.headers.get('offerstream.error.code') ?? '')) report.unknownCode++
  }
  for (const n of left.values()) report.missing += n
  return report
}

export function dlqExact(d: DlqReport): boolean {
  return d.missing + d.extra + d.withoutReason + d.unknownCode === 0
}
