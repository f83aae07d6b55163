const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }

/** '30d', '12h', '90m', '45s', '2w' (or plain seconds) -> seconds; null when it is none of those. */
export function parseDuration(text: string): number | null {
  const m = /^(\d{1,9})([smhdw]?)$/.exec(text.trim())
  if (!m) return null
  return Number(m[1]) * UNIT_SECONDS[m[2] || 's']!
}
