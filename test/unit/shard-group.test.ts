import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ErrorCodes, OfferstreamError } from '../../src/errors.ts'
import type { MembershipEvents } from '../../src/kafka/shard-membership.ts'
import { createLogger } from '../../src/service/logger.ts'
import { joinShardGroup } from '../../src/service/shard-group.ts'
import { FakeClock, until } from './support/fakes.ts'

const unavailable = () => new OfferstreamError(ErrorCodes.KAFKA_UNAVAILABLE, 'coordinator not available', { retryable: true })

/** Members whose start() fails with the planned errors, one per member, and that the test can fail afterwards. */
function setup() {
  const clock = new FakeClock()
  const stopping = new AbortController()
  const members: Array<{ events: MembershipEvents; open: boolean; started: boolean }> = []
  const startFailures: Error[] = []
  const fatal: Error[] = []
  /** When set, start() waits for it: a join in flight. */
  const gate: { wait?: Promise<void> } = {}
  const group = joinShardGroup({
    createMember: events => {
      const m = { events, open: true, started: false }
      members.push(m)
      return {
        start: async () => {
          await gate.wait
          const failure = startFailures.shift()
          if (failure) throw failure
          m.started = true
        },
        close: async () => {
          m.open = false
        },
      }
    },
    events: { onAssignment: () => {}, onHeartbeat: () => {} },
    log: createLogger('silent'),
    clock,
    retryMaxDelayMs: 5000,
    signal: stopping.signal,
    onFatal: e => fatal.push(e),
  })
  const open = () => members.filter(m => m.open).length
  return { clock, stopping, members, startFailures, fatal, group, open, gate }
}

test('a failed membership is closed and rebuilt; leave() closes the new one', async () => {
  const t = setup()
  await t.group.joined
  t.members[0]!.events.onFailure(unavailable())
  await until(() => t.members.length === 2 && t.members[1]!.started, 'the rebuilt membership')
  assert.equal(t.open(), 1)
  await t.group.leave()
  assert.equal(t.open(), 0)
})

test('a stop during a rebuild ends its retries and leaves no membership open', async () => {
  const t = setup()
  await t.group.joined
  t.startFailures.push(unavailable(), unavailable())
  t.members[0]!.events.onFailure(unavailable())
  await until(() => t.members.length === 2 && t.clock.waiting === 1, 'the rebuild backing off')
  t.stopping.abort()
  await t.group.leave()
  t.clock.advance(60_000)
  await until(() => true)
  assert.equal(t.members.length, 2, 'no attempt after the stop')
  assert.equal(t.open(), 0)
  assert.deepEqual(t.fatal, [], 'a stop is not a failure')
})

test('a membership that joins after the stop began is closed at once', async () => {
  const t = setup()
  await t.group.joined
  let release!: () => void
  t.gate.wait = new Promise<void>(resolve => (release = resolve))
  t.members[0]!.events.onFailure(unavailable())
  await until(() => t.members.length === 2, 'the rebuild joining')
  t.stopping.abort()
  let left = false
  const leaving = t.group.leave().then(() => (left = true))
  await until(() => true)
  assert.equal(left, false, 'leave() waits for the join in flight')
  release()
  await leaving
  assert.equal(t.members[1]!.started, true)
  assert.equal(t.open(), 0)
})

test('a rebuild that fails for good ends the service', async () => {
  const t = setup()
  await t.group.joined
  const refused = new OfferstreamError(ErrorCodes.KAFKA_FAILED, 'group authorization failed')
  t.startFailures.push(refused)
  t.members[0]!.events.onFailure(unavailable())
  await until(() => t.fatal.length === 1, 'the fatal report')
  assert.equal(t.fatal[0], refused)
  assert.equal(t.open(), 0)
  await t.group.leave()
})
