const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }

/** "90s", "15m", "12h", "7d", "2w" to seconds; null when it is not one of those. */
export function parseDuration(text: string): number | null {
  const m = /^(\d{1,9})([smhdw])$/.exec(text.trim())
  const unit = m?.[2] ? UNIT_SECONDS[m[2]] : undefined
  return m && unit ? Number(m[1]) * unit : null
}
