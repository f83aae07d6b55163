import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Turns } from '../../src/service/turns.ts'

test('at most `size` turns at once, handed on in arrival order; ending a turn twice frees one', async () => {
  const turns = new Turns(2)
  const a = await turns.take()
  const b = await turns.take()
  const order: string[] = []
  const c = turns.take().then(end => {
    order.push('c')
    return end
  })
  const d = turns.take().then(end => {
    order.push('d')
    return end
  })
  await new Promise(r => setImmediate(r))
  assert.deepEqual(order, [], 'nobody gets a third turn while two are held')
  a()
  a()
  const endC = await c
  await new Promise(r => setImmediate(r))
  assert.deepEqual(order, ['c'], 'ending the same turn twice hands on only one')
  b()
  const endD = await d
  assert.deepEqual(order, ['c', 'd'])
  endC()
  endD()
  // Both free again: two takes succeed at once.
  const [e, f] = await Promise.all([turns.take(), turns.take()])
  e()
  f()
})
