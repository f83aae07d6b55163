import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CapHistory, capVerdictOf } from '../../src/core/cap-history.ts'
import type { Caps } from '../../src/core/frequency-cap.ts'
import { type CapPush, capVerdict } from '../../testkit/cap-oracle.ts'

// A small deterministic generator, so a failure can be replayed.
function rng(seed: number) {
  let s = seed >>> 0
  return (n: number) => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0
    return s % n
  }
}

test('capVerdictOf gives the oracle’s verdict (capVerdict, which counts runs instead of windows) on random histories', () => {
  const r = rng(17)
  const rest = ['r-a', 'r-b']
  let suppressed = 0
  for (let i = 0; i < 2000; i++) {
    const history: CapPush[] = Array.from({ length: r(9) }, () => ({ at: 1000 + r(120), restaurantId: rest[r(2)]! }))
    const caps: Caps = {
      frequency: r(4) === 0 ? null : { limit: 1 + r(4), windowSeconds: 1 + r(60) },
      restaurant: r(3) === 0 ? null : { limit: 1 + r(3), windowSeconds: 1 + r(90) },
    }
    const at = 1000 + r(120)
    const restaurant = rest[r(2)]!
    // The history split between what committed and what the deciding transaction pushed so far.
    const committed = new CapHistory()
    const mine = new CapHistory()
    for (const h of history) (r(3) === 0 ? mine : committed).add('c', h.at, h.restaurantId)
    const want = capVerdict(history, at, restaurant, caps)
    assert.equal(
      capVerdictOf([committed, mine], 'c', at, restaurant, caps),
      want,
      `case ${i}: ${JSON.stringify({ history, at, restaurant, caps })}`,
    )
    if (want) suppressed++
  }
  assert.ok(suppressed > 250 && suppressed < 1750, `both verdicts are exercised (${suppressed} of 2000 suppressed)`)
})

test('a client’s history is its own; addAll merges a transaction’s pushes; prune drops only what is older than asked', () => {
  const caps: Caps = { frequency: { limit: 2, windowSeconds: 100 }, restaurant: { limit: 1, windowSeconds: 1000 } }
  const h = new CapHistory()
  h.add('a', 1000, 'r1')
  h.add('a', 1050, 'r2')
  h.add('b', 1000, 'r1')
  assert.equal(capVerdictOf([h], 'a', 1060, 'r3', caps), 'frequency_cap')
  assert.equal(capVerdictOf([h], 'a', 1100, 'r3', caps), null, 'the window of 100 s has room again at 1100')
  assert.equal(capVerdictOf([h], 'b', 1060, 'r1', caps), 'restaurant_cap')
  assert.equal(capVerdictOf([h], 'b', 1060, 'r2', caps), null)
  assert.equal(capVerdictOf([h], 'c', 1060, 'r1', caps), null, 'no history, no verdict')
  const tx = new CapHistory()
  tx.add('b', 1070, 'r2')
  assert.equal(capVerdictOf([h, tx], 'b', 1080, 'r3', caps), 'frequency_cap', "the transaction's own pushes count")
  h.addAll(tx)
  assert.equal(h.size, 4)
  assert.deepEqual(h.near('b', 1080, 100, 'r2'), [1070])
  assert.equal(h.prune(1001), 2)
  assert.equal(h.size, 2)
  assert.deepEqual(h.near('a', 1050, 100), [1050])
  assert.deepEqual(h.near('b', 1050, 100), [1070])
})
