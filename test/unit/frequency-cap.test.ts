import assert from 'node:assert/strict'
import { test } from 'node:test'
import { capsOf, loadConfig } from '../../src/config/load-config.ts'
import { capWindow, parseCap } from '../../src/core/frequency-cap.ts'
import { type CapPush, capAdmits, capVerdict, maxInWindow } from '../../testkit/cap-oracle.ts'
import { FakeClock } from './support/fakes.ts'

test('parseCap reads N/DURATION; empty or off is no cap; anything else says what is wrong', () => {
  assert.deepEqual(parseCap('3/24h'), { cap: { limit: 3, windowSeconds: 86_400 } })
  assert.deepEqual(parseCap(' 1/90m '), { cap: { limit: 1, windowSeconds: 5400 } })
  assert.deepEqual(parseCap('10/7d'), { cap: { limit: 10, windowSeconds: 604_800 } })
  assert.deepEqual(parseCap(''), { cap: null })
  assert.deepEqual(parseCap('off'), { cap: null })
  for (const [text, why] of [
    ['3', /N\/DURATION/],
    ['3/', /N\/DURATION/],
    ['x/24h', /N\/DURATION/],
    ['0/24h', /N must be 1 to 1000/],
    ['1001/24h', /N must be 1 to 1000/],
    ['3/24', /DURATION must be/],
    ['3/0h', /DURATION must be/],
    ['-1/24h', /N\/DURATION/],
  ] as const) {
    const r = parseCap(text)
    assert.ok('error' in r && why.test(r.error), `${text}: ${JSON.stringify(r)}`)
  }
})

test('a malformed cap stops the configuration naming the setting; both are off by default', () => {
  assert.deepEqual(capsOf(loadConfig({ env: {} })), { frequency: null, restaurant: null })
  assert.deepEqual(capsOf(loadConfig({ env: { OFFERSTREAM_FREQUENCY_CAP: '3/24h' }, argv: ['--restaurant-cap', '1/12h'] })), {
    frequency: { limit: 3, windowSeconds: 86_400 },
    restaurant: { limit: 1, windowSeconds: 43_200 },
  })
  for (const [env, name] of [
    [{ OFFERSTREAM_FREQUENCY_CAP: '3 per day' }, /OFFERSTREAM_FREQUENCY_CAP \(--frequency-cap\)/],
    [{ OFFERSTREAM_RESTAURANT_CAP: '0/1h' }, /OFFERSTREAM_RESTAURANT_CAP \(--restaurant-cap\)/],
  ] as const) {
    assert.throws(
      () => loadConfig({ env }),
      (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID' && name.test(e.message),
    )
  }
})

test('rolling window on the fake clock: 3/24h lets the 4th push through only once the 1st is 24 h old', () => {
  const clock = new FakeClock()
  const cap = { limit: 3, windowSeconds: 86_400 }
  const pushed: number[] = []
  const tryPush = () => {
    const ok = capAdmits(pushed, clock.seconds, cap)
    if (ok) pushed.push(clock.seconds)
    return ok
  }
  assert.equal(tryPush(), true)
  clock.advance(3_600_000)
  assert.equal(tryPush(), true)
  clock.advance(3_600_000)
  assert.equal(tryPush(), true)
  clock.advance(60_000)
  assert.equal(tryPush(), false, 'three in the last 2 h')
  // 1 s before the first push is 24 h old it still shares a window with it...
  clock.advance((86_400 - 2 * 3600 - 60 - 1) * 1000)
  assert.equal(tryPush(), false)
  // ...and at exactly 24 h it does not: windows are [s, s + 24h).
  clock.advance(1000)
  assert.equal(tryPush(), true)
  assert.equal(maxInWindow(pushed, cap.windowSeconds), 3)
  assert.equal(maxInWindow(pushed, cap.windowSeconds + 1), 4)
})

test('pushes are checked on both sides: a late chunk with an earlier trigger time cannot squeeze in before later pushes', () => {
  const cap = { limit: 2, windowSeconds: 100 }
  // Pushes at 150 and 200 committed first; a campaign triggered earlier reaches the client afterwards.
  // Looking back from its own time only, it would see neither.
  assert.equal(capAdmits([150, 200], 120, cap), false, '[120, 220) would hold 120, 150 and 200')
  assert.equal(capAdmits([150, 200], 101, cap), false)
  assert.equal(capAdmits([150, 200], 100, cap), true, '100 and 200 are a full window apart')
  assert.equal(maxInWindow([100, 150, 200], 100), 2)
  assert.equal(capAdmits([150, 200], 250, cap), true)
  assert.equal(capAdmits([150, 200], 249, cap), false)
})

test('capVerdict: the frequency cap is checked first; the restaurant cap counts only that restaurant', () => {
  const h: CapPush[] = [
    { at: 1000, restaurantId: 'a' },
    { at: 1010, restaurantId: 'b' },
  ]
  const caps = { frequency: { limit: 2, windowSeconds: 60 }, restaurant: { limit: 1, windowSeconds: 3600 } }
  assert.equal(capVerdict(h, 1020, 'a', caps), 'frequency_cap')
  assert.equal(capVerdict(h, 1100, 'a', caps), 'restaurant_cap')
  assert.equal(capVerdict(h, 1100, 'c', caps), null)
  assert.equal(capVerdict(h, 1020, 'a', { frequency: null, restaurant: null }), null)
})

test('capWindow: how far back a push is compared is the longest window in force', () => {
  const caps = { frequency: { limit: 3, windowSeconds: 86_400 }, restaurant: { limit: 1, windowSeconds: 3600 } }
  assert.equal(capWindow(caps), 86_400)
  assert.equal(capWindow({ frequency: null, restaurant: caps.restaurant }), 3600)
  assert.equal(capWindow({ frequency: null, restaurant: null }), 0)
})
