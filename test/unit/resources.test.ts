import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import { createLogger } from '../../src/service/logger.ts'
import { Resources } from '../../src/service/resources.ts'

function setup() {
  const lines: Array<{ msg: string; resource?: string; err?: string }> = []
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line))
      done()
    },
  })
  const resources = new Resources(createLogger('warn', sink))
  const closed: string[] = []
  const open = (name: string, fail = false) =>
    resources.defer(name, async () => {
      closed.push(name)
      if (fail) throw new Error(`${name} would not close`)
    })
  return { resources, closed, open, lines }
}

test('closeAll() closes what was opened in reverse order, once, however often it is called', async () => {
  const t = setup()
  for (const name of ['pool', 'http', 'listener', 'shard group', 'shards', 'ingest']) t.open(name)
  await Promise.all([t.resources.closeAll(), t.resources.closeAll()])
  await t.resources.closeAll()
  assert.deepEqual(t.closed, ['ingest', 'shards', 'shard group', 'listener', 'http', 'pool'])
  assert.equal(t.resources.closing, true)
})

test('a close that fails is logged with its name and the rest still close', async () => {
  const t = setup()
  t.open('pool')
  t.open('listener', true)
  t.open('ingest')
  await t.resources.closeAll()
  assert.deepEqual(t.closed, ['ingest', 'listener', 'pool'])
  const warning = t.lines.find(l => l.resource === 'listener')
  assert.equal(warning?.err, 'listener would not close')
})

test('something opened after closeAll() began is closed at once instead of leaking', async () => {
  const t = setup()
  let release!: () => void
  t.resources.defer('slow', () => new Promise<void>(resolve => (release = resolve)))
  const closing = t.resources.closeAll()
  t.open('late member')
  assert.deepEqual(t.closed, ['late member'])
  release()
  await closing
})
