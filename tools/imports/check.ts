// `node tools/imports/check.ts` (part of `npm run lint`): fails if an import crosses a folder boundary
// the rules in rules.ts forbid, or if folders import each other in a cycle.
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { checkImports, type SourceFile } from './rules.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const SKIP = new Set(['node_modules', '.git', '.offerstream', 'results'])

function* sources(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) yield* sources(full)
    else if (/\.(ts|js)$/.test(entry.name)) yield full
  }
}

const files: SourceFile[] = [...sources(ROOT)].map(f => ({
  path: path.relative(ROOT, f).split(path.sep).join('/'),
  text: readFileSync(f, 'utf8'),
}))
const problems = checkImports(files)
for (const p of problems) process.stderr.write(`${p}\n`)
process.stdout.write(`imports: ${files.length} files checked, ${problems.length} problem(s)\n`)
process.exit(problems.length ? 1 : 0)
