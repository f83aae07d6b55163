// `node bench/profile-summary.ts <file.cpuprofile> [top]`: where a --cpu-prof profile spent its time,
// as self time per function and per package/file, without opening DevTools.
import { readFileSync } from 'node:fs'

interface Node {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}

const [file, topArg] = process.argv.slice(2)
if (!file) throw new Error('usage: node bench/profile-summary.ts <file.cpuprofile> [top]')
const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] }
const byId = new Map(prof.nodes.map(n => [n.id, n]))
const self = new Map<number, number>()
for (const [i, id] of prof.samples.entries()) self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0))
const total = [...self.values()].reduce((a, b) => a + b, 0)
const fn = new Map<string, number>()
const where = new Map<string, number>()
for (const [id, us] of self) {
  const c = byId.get(id)!.callFrame
  const short = c.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/\/work\/main\//, '')
  fn.set(
    `${c.functionName || '(anonymous)'} ${short}:${c.lineNumber + 1}`,
    (fn.get(`${c.functionName || '(anonymous)'} ${short}:${c.lineNumber + 1}`) ?? 0) + us,
  )
  const pkg =
    c.url === '' ? c.functionName || '(native)' : short.startsWith('@') ? short.split('/').slice(0, 2).join('/') : short.split('/')[0]!
  where.set(pkg, (where.get(pkg) ?? 0) + us)
}
const top = Number(topArg ?? 25)
const show = (title: string, m: Map<string, number>) => {
  console.log(`\n${title} (total ${(total / 1e6).toFixed(2)} s sampled)`)
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`)
}
show('by package / file', where)
show('by function (self time)', fn)
