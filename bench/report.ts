import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url))

export type Row = Record<string, string | number>

/** Prints rows as a Markdown table (it pastes straight into the README). */
export function printTable(title: string, rows: Row[]): void {
  if (rows.length === 0) return
  const cols = Object.keys(rows[0]!)
  const cell = (v: string | number | undefined) => (typeof v === 'number' ? fmt(v) : (v ?? ''))
  const width = cols.map(c => Math.max(c.length, ...rows.map(r => String(cell(r[c])).length)))
  const line = (vals: string[]) => `| ${vals.map((v, i) => v.padEnd(width[i]!)).join(' | ')} |`
  const out = [
    `\n### ${title}\n`,
    line(cols),
    `|${width.map(w => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map(r => line(cols.map(c => String(cell(r[c]))))),
  ]
  process.stdout.write(`${out.join('\n')}\n`)
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n)
  if (Number.isInteger(n)) return n.toLocaleString('en-US')
  return Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2)
}

/** Writes one scenario's result as JSON under bench/results/ and returns the path. */
export function writeResult(name: string, stamp: string, data: unknown): string {
  mkdirSync(RESULTS, { recursive: true })
  const path = `${RESULTS}${stamp}-${name}.json`
  writeFileSync(path, `${JSON.stringify(data, null, 2)}\n`)
  return path
}
