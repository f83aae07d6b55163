import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ErrorCodes, OfferstreamError } from '../../src/errors.ts'
import { createLogger } from '../../src/service/logger.ts'
import { ShardManager, type ShardWork } from '../../src/service/shard-manager.ts'
import { FakeClock, until } from './support/fakes.ts'

/** A shard's writer and relay that run until stopped, or until the test ends them with an error. */
class FakeWork implements ShardWork {
  events: string[] = []
  #endWriter: ((e?: Error) => void) | undefined
  #endRelay: ((e?: Error) => void) | undefined
  lastError: string | undefined
  writer = {
    run: () => new Promise<void>((resolve, reject) => (this.#endWriter = e => (e ? reject(e) : resolve()))),
    stop: async () => {
      this.events.push('writer stop')
      this.#endWriter?.()
    },
    wake: () => this.events.push('writer wake'),
    lastError: undefined,
  }
  relay = {
    run: () => new Promise<void>((resolve, reject) => (this.#endRelay = e => (e ? reject(e) : resolve()))),
    wake: () => this.events.push('relay wake'),
    stop: async (drain?: AbortSignal) => {
      if (drain) this.events.push('relay drain')
      this.events.push('relay close')
      this.#endRelay?.()
    },
    lastError: undefined,
  }
  failWriter(e: Error) {
    this.#endWriter?.(e)
  }
}

function setup(o: { clock?: FakeClock; log?: ReturnType<typeof createLogger> } = {}) {
  const epochs = new Map<number, { epoch: number; generation: number }>()
  const started: Array<{ shard: number; epoch: number; work: FakeWork }> = []
  const fatal: Error[] = []
  const manager = new ShardManager({
    // The table's rule: a shard goes to the caller unless a higher generation holds it (or force).
    acquire: async (shard, generation, force) => {
      const row = epochs.get(shard) ?? { epoch: 0, generation: -1 }
      if (row.generation > generation && !force) return null
      const next = { epoch: row.epoch + 1, generation }
      epochs.set(shard, next)
      return next.epoch
    },
    startShard: (shard, epoch) => {
      const work = new FakeWork()
      started.push({ shard, epoch, work })
      return work
    },
    log: o.log ?? createLogger('silent'),
    clock: o.clock ?? new FakeClock(),
    retryMaxDelayMs: 100,
    onFatal: e => fatal.push(e),
  })
  const work = (shard: number) => started.filter(s => s.shard === shard).at(-1)!.work
  return { manager, epochs, started, fatal, work }
}

test('an assignment starts a writer and relay per shard; the next one stops only the shards that moved', async () => {
  const t = setup()
  t.manager.assign(1, [0, 1, 2])
  await until(() => t.manager.owned().length === 3, 'three shards')
  assert.deepEqual(
    t.started.map(s => [s.shard, s.epoch]),
    [
      [0, 1],
      [1, 1],
      [2, 1],
    ],
  )
  const kept = t.work(1)
  t.manager.assign(2, [1, 3])
  await until(() => t.manager.owned().join() === '1,3', 'shards 1 and 3')
  assert.deepEqual(t.work(0).events, ['writer stop', 'relay close'], 'a moved shard stops without a drain: the new owner publishes')
  assert.deepEqual(kept.events, [], 'a kept shard keeps running')
  assert.equal(t.started.length, 4)
})

test('a shard a newer generation holds is refused, and taken with force once a heartbeat proves our generation current', async () => {
  const t = setup()
  t.epochs.set(5, { epoch: 7, generation: 40 }) // from before the group was deleted and restarted at 1
  t.manager.assign(3, [4, 5])
  await until(() => t.manager.owned().join() === '4', 'shard 4 only')
  t.manager.heartbeat(2) // an older generation's heartbeat proves nothing
  t.manager.heartbeat(3)
  await until(() => t.manager.owned().join() === '4,5', 'shard 5 too')
  assert.deepEqual(t.epochs.get(5), { epoch: 8, generation: 3 })
})

test('SHARD_LOST drops the shard quietly; any other non-retryable failure is fatal', async () => {
  const t = setup()
  t.manager.assign(1, [0, 1])
  await until(() => t.manager.owned().length === 2, 'two shards')
  t.work(0).failWriter(new OfferstreamError(ErrorCodes.SHARD_LOST, 'shard 0 was taken over'))
  await until(() => t.manager.owned().join() === '1', 'shard 0 dropped')
  assert.ok(t.work(0).events.includes('relay close'))
  assert.equal(t.fatal.length, 0)
  const broken = new OfferstreamError(ErrorCodes.PG_FAILED, 'relation does not exist')
  t.work(1).failWriter(broken)
  await until(() => t.fatal.length === 1, 'the fatal report')
  assert.equal(t.fatal[0], broken)
})

test('stop() drains every relay, then closes it; wake() reaches only shards run here', async () => {
  const t = setup()
  t.manager.assign(1, [2])
  await until(() => t.manager.owned().length === 1, 'one shard')
  t.manager.wake(2)
  t.manager.wake(9)
  await t.manager.stop(new AbortController().signal)
  assert.deepEqual(t.work(2).events, ['writer wake', 'relay wake', 'writer stop', 'relay drain', 'relay close'])
  assert.deepEqual(t.manager.owned(), [])
  t.manager.assign(2, [3])
  await until(() => true)
  assert.equal(t.started.length, 1, 'no shard starts after stop()')
})

test('a shard stop that takes long is logged every 10 s with the part it waits for, until it ends', async () => {
  const clock = new FakeClock()
  const lines: Array<{ msg: string; shard?: number; waitingFor?: string; waitedMs?: number }> = []
  const log = createLogger('warn', { write: (line: string) => void lines.push(JSON.parse(line)) })
  const t = setup({ clock, log })
  t.manager.assign(1, [0, 1])
  await until(() => t.manager.owned().length === 2, 'two shards')
  // Shard 0's writer is stuck in its step (as one waiting for a lock would be): its stop does not end.
  let endWriterStop!: () => void
  const stuck = new Promise<void>(resolve => (endWriterStop = resolve))
  const w0 = t.work(0).writer
  const plainStop = w0.stop
  w0.stop = async () => {
    await stuck
    await plainStop()
  }
  t.manager.assign(2, [1])
  await until(() => clock.waiting > 0, 'the stop watch sleeping')
  const warned = () => lines.filter(l => l.msg === 'shard still stopping')
  clock.advance(10_000)
  await until(() => warned().length === 1, 'one warning after 10 s')
  clock.advance(10_000)
  await until(() => warned().length === 2, 'a second one after 20 s')
  assert.deepEqual(
    warned().map(l => [l.shard, l.waitingFor, l.waitedMs]),
    [
      [0, 'writer', 10_000],
      [0, 'writer', 20_000],
    ],
  )
  assert.deepEqual(t.manager.owned(), [0, 1], 'the next assignment waits for the stop')
  endWriterStop()
  await until(() => t.manager.owned().join() === '1', 'shard 0 stopped')
  assert.equal(clock.waiting, 0, 'no watch left sleeping')
  clock.advance(30_000)
  await new Promise(r => setImmediate(r))
  assert.equal(warned().length, 2, 'no warning after the stop ended')
})
