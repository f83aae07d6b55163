const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const

/** What `since=7d`-style parameters accept: a positive whole number of seconds, minutes, hours or days. */
export const DURATION_PATTERN = '^[1-9][0-9]{0,6}[smhd]$'

/** "90s", "15m", "12h", "7d" to seconds; undefined for anything else. */
export function durationSeconds(text: string): number | undefined {
  if (!new RegExp(DURATION_PATTERN).test(text)) return undefined
  return Number(text.slice(0, -1)) * UNIT_SECONDS[text.at(-1) as keyof typeof UNIT_SECONDS]
}
