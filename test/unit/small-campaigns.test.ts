import assert from 'node:assert/strict'
import { test } from 'node:test'
import { leadNow, SmallCampaigns } from '../../src/service/small-campaigns.ts'
import { FakeClock } from './support/fakes.ts'

test('the shared lead holds for one second after the last small campaign, and never loosens the lead', () => {
  const clock = new FakeClock()
  const small = new SmallCampaigns(clock)
  assert.equal(leadNow(5000, 2500, small), 5000, 'no small campaign yet')
  small.written()
  assert.equal(leadNow(5000, 2500, small), 2500)
  clock.advance(999)
  assert.equal(leadNow(5000, 2500, small), 2500)
  small.written()
  clock.advance(999)
  assert.equal(leadNow(5000, 2500, small), 2500, 'each small campaign starts the second again')
  assert.equal(leadNow(1000, 2500, small), 1000, 'a lead below the shared one stays')
  assert.equal(leadNow(0, 2500, small), 2500, 'no lead at all: the shared one still applies')
  assert.equal(leadNow(5000, 0, small), 5000, '0: not used')
  clock.advance(1)
  assert.equal(leadNow(5000, 2500, small), 5000, 'a second after the last one')
})
