import assert from 'node:assert/strict'
import { test } from 'node:test'
import { RateWindow } from '../../src/core/rate-window.ts'

test('rates are per second between consecutive samples; lag is written minus published', () => {
  const w = new RateWindow(10)
  w.add({ at: 0, written: 0, published: 0 })
  w.add({ at: 2000, written: 1000, published: 400 })
  w.add({ at: 2500, written: 1000, published: 1000 })
  assert.deepEqual(w.points(), [
    { at: 2000, writtenPerSecond: 500, publishedPerSecond: 200, lag: 600 },
    { at: 2500, writtenPerSecond: 0, publishedPerSecond: 1200, lag: 0 },
  ])
})

test('keeps only the last `capacity` samples', () => {
  const w = new RateWindow(3)
  for (let i = 0; i < 10; i++) w.add({ at: i * 1000, written: i * 10, published: i * 10 })
  assert.deepEqual(
    w.points().map(p => p.at),
    [8000, 9000],
  )
})

test('a clock step backwards is ignored and a counter reset never gives negative rates or lag', () => {
  const w = new RateWindow(10)
  w.add({ at: 1000, written: 50, published: 10 })
  w.add({ at: 500, written: 60, published: 20 })
  w.add({ at: 2000, written: 0, published: 30 })
  assert.deepEqual(w.points(), [{ at: 2000, writtenPerSecond: 0, publishedPerSecond: 20, lag: 0 }])
})

test('rejects a capacity that cannot hold one rate', () => {
  assert.throws(() => new RateWindow(1), /capacity must be an integer >= 2/)
})
