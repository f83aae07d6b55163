// Where the relay stands: the last subscribers_feedback id and the last offerstream_rejects id it
// has published. Written as one record in every output transaction, so it commits or aborts with
// the messages it describes.
export interface RelayCursor {
  push: number
  dlq: number
}

export const START_CURSOR: RelayCursor = { push: 0, dlq: 0 }

export function encodeCursor(c: RelayCursor): string {
  return JSON.stringify({ push: c.push, dlq: c.dlq })
}

export function decodeCursor(value: Buffer | null): RelayCursor | null {
  if (!value) return null
  try {
    const v = JSON.parse(value.toString('utf8'))
    if (Number.isSafeInteger(v?.push) && Number.isSafeInteger(v?.dlq)) return { push: v.push, dlq: v.dlq }
  } catch {}
  return null
}
