import assert from 'node:assert/strict'
import { test } from 'node:test'
import { checkImports, type SourceFile } from '../../tools/imports/rules.ts'

const file = (path: string, ...lines: string[]): SourceFile => ({ path, text: lines.join('\n') })

const layered = [
  file('src/errors.ts', 'export class E {}'),
  file('src/core/a.ts', "import { E } from '../errors.ts'", "import Type from 'typebox'"),
  file('src/service/app.ts', "import { a } from '../core/a.ts'", "const dir = new URL('./migrations/', import.meta.url)"),
  file('tools/stack/index.ts', "import { spawn } from 'node:child_process'"),
  file('tools/cli/index.ts', "import { a } from '../../src/service/app.ts'", "const b = () => import('../../bench/main.ts')"),
  file('bench/main.ts', "import { s } from '../tools/stack/index.ts'", "const bin = new URL('../bin/offerstream.js', import.meta.url)"),
  file('test/unit/a.test.ts', "import { a } from '../../src/core/a.ts'", "import { c } from '../../chaos/lib/x.ts'"),
]

test('a tree that follows the layering passes', () => {
  assert.deepEqual(checkImports(layered), [])
})

test('src/ reaching outside itself is reported, however it is spelled', () => {
  const problems = checkImports([
    ...layered,
    file('src/cli/services.ts', "import { stackUp } from '../../tools/stack/index.ts'"),
    file('src/cli/main.ts', "const entry = new URL('../../bench/main.ts', import.meta.url).href", 'await import(entry)'),
    file('src/cli/demo.ts', "const d = await import('../../tools/cli/index.ts')"),
  ])
  assert.equal(problems.length, 3, problems.join('\n'))
  assert.match(problems[0]!, /^src\/cli\/services\.ts imports tools\/stack\/index\.ts: src\/ may only import src$/)
  assert.match(problems[1]!, /^src\/cli\/main\.ts refers to bench\/main\.ts/)
  assert.match(problems[2]!, /^src\/cli\/demo\.ts imports tools\/cli\/index\.ts/)
})

test('the pure core may not import adapters, neither their packages nor their folders', () => {
  const problems = checkImports([
    ...layered,
    file('src/core/b.ts', "import pg from 'pg'", "import type { Config } from '../config/settings.ts'"),
    file('src/config/settings.ts', ''),
  ])
  assert.deepEqual(problems, [
    'src/core/b.ts imports src/config/settings.ts: src/core/ is pure and may only import src/core, src/errors.ts',
    'src/core/b.ts imports pg: src/core/ is pure',
  ])
})

test('folders that import each other are reported as a cycle with an example edge each way', () => {
  const problems = checkImports([
    ...layered,
    file('src/pg/writer-lock.ts', "import type { Logger } from '../service/app.ts'"),
    file('src/service/writer.ts', "import { lock } from '../pg/writer-lock.ts'"),
  ])
  assert.equal(problems.length, 1, problems.join('\n'))
  assert.match(problems[0]!, /^folder cycle src\/(pg|service) -> src\/(pg|service) -> src\/\1 /)
  assert.match(problems[0]!, /src\/pg\/writer-lock\.ts -> src\/service\/app\.ts/)
  assert.match(problems[0]!, /src\/service\/writer\.ts -> src\/pg\/writer-lock\.ts/)
})

test('dev folders keep their direction: testkit below chaos and test, bench apart from test', () => {
  const problems = checkImports([
    ...layered,
    file('testkit/fixture.ts', "import { w } from '../chaos/lib/workload.ts'"),
    file('bench/x.ts', "import { t } from '../test/unit/a.test.ts'"),
    file('docs/example.ts', ''),
  ])
  assert.deepEqual(
    problems.map(p => p.split(':')[0]),
    ['testkit/fixture.ts imports chaos/lib/workload.ts', 'bench/x.ts imports test/unit/a.test.ts', 'docs/example.ts'],
  )
})
