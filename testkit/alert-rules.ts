import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

export interface AlertRule {
  alert: string
  expr: string
  for?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
}

export const RULES_FILE = fileURLToPath(new URL('../deploy/prometheus/offerstream-rules.yml', import.meta.url))

/** The alerting rules of deploy/prometheus/offerstream-rules.yml, in file order. */
export function loadAlertRules(): AlertRule[] {
  const doc = parse(readFileSync(RULES_FILE, 'utf8')) as { groups: { rules: AlertRule[] }[] }
  return doc.groups.flatMap(g => g.rules).filter(r => r.alert)
}

/**
 * An alert expression `<signal> <op> <number>` as `<signal> <op> bool <number>`: the same comparison,
 * but returning every series of the signal (0 or 1) instead of only the firing ones, so a test can
 * require a series from a healthy service. Undefined when the expression has another shape.
 */
export function alertSignal(expr: string): string | undefined {
  const m = /^(.*\S)\s*(>=|<=|==|!=|>|<)\s*(-?[0-9.]+)\s*$/s.exec(expr.trim())
  if (!m) return undefined
  return `(${m[1]}) ${m[2]} bool ${m[3]}`
}
