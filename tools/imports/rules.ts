import path from 'node:path'
import ts from 'typescript'

// Which folders may import which. The product (src/) reaches nothing outside itself, so a service
// build never carries the local stack, the demo or the bench; dev code depends on the product, never
// the reverse. A folder is a file's directory, at most two levels deep (src/pg/sql/x.ts is in
// src/pg); a key below names a folder or a whole tree, and the most specific key applies.
const MAY_IMPORT: Record<string, readonly string[]> = {
  src: ['src'],
  bin: ['src', 'tools/cli'],
  'tools/stack': [],
  'tools/cli': ['src', 'tools/stack', 'bench'],
  'tools/imports': [],
  testkit: ['src', 'tools/stack'],
  bench: ['src', 'testkit', 'tools/stack', 'chaos/lib'],
  chaos: ['src', 'testkit', 'tools/stack'],
  scripts: ['tools/stack'],
  test: ['src', 'testkit', 'tools', 'chaos/lib'],
}

// src/core is the pure part: no I/O adapters, no other layer of the service.
const CORE = 'src/core'
const CORE_MAY_IMPORT = ['src/core', 'src/errors.ts']
const ADAPTER_PACKAGES = ['@platformatic/kafka', 'pg', 'pg-copy-streams', 'fastify', 'pino', 'prom-client']

export interface SourceFile {
  /** Relative to the project root, with forward slashes. */
  path: string
  text: string
}

/**
 * What a file refers to: relative static and literal dynamic imports, package imports, and relative
 * `new URL('…', import.meta.url)` (how src/ once loaded bench/ out of the type checker's sight).
 */
function references(file: SourceFile): { imports: string[]; urls: string[]; packages: string[] } {
  const info = ts.preProcessFile(file.text, true, true)
  const specs = info.importedFiles.map(i => i.fileName)
  const urls = [...file.text.matchAll(/new URL\(\s*['"`](\.{1,2}\/[^'"`]*)['"`]\s*,\s*import\.meta\.url\s*\)/g)].map(m => m[1]!)
  return {
    imports: specs.filter(s => s.startsWith('.')),
    urls,
    packages: specs.filter(s => !s.startsWith('.') && !s.startsWith('node:')),
  }
}

const resolveFrom = (from: string, spec: string) => path.posix.normalize(path.posix.join(path.posix.dirname(from), spec))
const within = (p: string, tree: string) => p === tree || p.startsWith(`${tree}/`)

/** The folder of a file for the cycle check: its directory, at most two levels deep. */
function folderOf(p: string): string {
  const dirs = p.split('/').slice(0, -1)
  return dirs.slice(0, 2).join('/') || '.'
}

function ruleFor(p: string): string | undefined {
  return Object.keys(MAY_IMPORT)
    .filter(k => within(p, k))
    .sort((a, b) => b.length - a.length)[0]
}

/** Every broken rule, as one human-readable line each; empty when the tree is clean. */
export function checkImports(files: SourceFile[]): string[] {
  const problems: string[] = []
  const edges = new Map<string, Map<string, string>>() // folder -> folder -> an example "a.ts -> b.ts"
  for (const file of files) {
    const key = ruleFor(file.path)
    if (!key) {
      problems.push(`${file.path}: folder has no import rule (add it to MAY_IMPORT in tools/imports/rules.ts)`)
      continue
    }
    const refs = references(file)
    const allowed = [...new Set([key, ...MAY_IMPORT[key]!])]
    // Outside src/, URLs name things to spawn or read (bin/offerstream.js, result dirs), not imports.
    const urls = within(file.path, 'src') ? refs.urls : []
    for (const [kind, spec] of [...refs.imports.map(s => ['imports', s] as const), ...urls.map(s => ['refers to', s] as const)]) {
      const target = resolveFrom(file.path, spec)
      if (!allowed.some(a => within(target, a)))
        problems.push(`${file.path} ${kind} ${target}: ${key}/ may only import ${allowed.join(', ')}`)
      if (within(file.path, CORE) && !CORE_MAY_IMPORT.some(a => within(target, a))) {
        problems.push(`${file.path} ${kind} ${target}: ${CORE}/ is pure and may only import ${CORE_MAY_IMPORT.join(', ')}`)
      }
      if (kind !== 'imports') continue
      const a = folderOf(file.path)
      const b = folderOf(target)
      if (a === b) continue
      if (!edges.has(a)) edges.set(a, new Map())
      if (!edges.get(a)!.has(b)) edges.get(a)!.set(b, `${file.path} -> ${target}`)
    }
    if (within(file.path, CORE)) {
      for (const p of refs.packages.filter(p => ADAPTER_PACKAGES.includes(p))) problems.push(`${file.path} imports ${p}: ${CORE}/ is pure`)
    }
  }
  for (const cycle of folderCycles(edges)) {
    const examples = cycle.map((f, i) => edges.get(f)?.get(cycle[(i + 1) % cycle.length]!)).filter(Boolean)
    problems.push(`folder cycle ${[...cycle, cycle[0]].join(' -> ')} (${examples.join('; ')})`)
  }
  return problems
}

/** One cycle (as a closed path of folders) per strongly connected component with more than one folder. */
function folderCycles(edges: Map<string, Map<string, string>>): string[][] {
  const next = (f: string) => [...(edges.get(f)?.keys() ?? [])]
  const nodes = [...new Set([...edges.keys(), ...[...edges.values()].flatMap(m => [...m.keys()])])].sort()
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const cycles: string[][] = []
  const visit = (v: string) => {
    index.set(v, index.size)
    low.set(v, index.get(v)!)
    stack.push(v)
    onStack.add(v)
    for (const w of next(v)) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) !== index.get(v)) return
    const component: string[] = []
    for (let w = stack.pop()!; ; w = stack.pop()!) {
      onStack.delete(w)
      component.push(w)
      if (w === v) break
    }
    if (component.length > 1) cycles.push(pathWithin(new Set(component), v, next))
  }
  for (const v of nodes) if (!index.has(v)) visit(v)
  return cycles
}

/** A closed walk from start back to start inside one component (breadth-first, so a short one). */
function pathWithin(component: Set<string>, start: string, next: (f: string) => string[]): string[] {
  const from = new Map<string, string>()
  const queue = [start]
  while (queue.length) {
    const v = queue.shift()!
    for (const w of next(v).filter(x => component.has(x))) {
      if (w === start) {
        const walk = [v]
        while (walk[0] !== start) walk.unshift(from.get(walk[0]!)!)
        return walk
      }
      if (!from.has(w)) {
        from.set(w, v)
        queue.push(w)
      }
    }
  }
  return [start]
}
