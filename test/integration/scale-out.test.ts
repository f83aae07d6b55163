import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'
import { eventually } from '../../testkit/service.ts'
import { ServiceProcess } from '../../testkit/service-process.ts'
import { checkSinks } from '../../testkit/sinks.ts'
import { buildWorkload } from '../../testkit/workload.ts'

// Two instances share the shards through the consumer group; one is frozen (SIGSTOP) past its
// session, the other takes every shard, and when the frozen one wakes its late work is fenced.
let fx: Fixture
before(async () => {
  fx = await createFixture({ OFFERSTREAM_HTTP_ENABLED: 'false', OFFERSTREAM_FANOUT_CHUNK: '500', OFFERSTREAM_RELAY_BATCH: '700' })
})
after(async () => fx?.cleanup())

/** Owner name prefix (the instance id) of each shard, in shard order. */
async function owners(): Promise<string[]> {
  const { rows } = await fx.pool.query<{ owner: string | null }>('select owner from offerstream_shards order by shard')
  return rows.map(r => (r.owner ?? '').split(':')[0] ?? '')
}

test('two instances split the shards; a frozen one loses them, is fenced when it wakes, and both sinks stay exact', async () => {
  const w = buildWorkload({ pushes: 8000, subscribersPerRestaurant: 200, inactive: 2, resends: 3 })
  await fx.addSubscribers(w.subscribers)
  const half = Math.ceil(w.values.length / 2)
  await fx.produce(w.values.slice(0, half))
  const a = new ServiceProcess({ ...fx.config, groupInstanceId: 'a' })
  const b = new ServiceProcess({ ...fx.config, groupInstanceId: 'b' })
  a.start()
  b.start()
  try {
    const split = await eventually(async () => {
      const o = await owners()
      return o.includes('a') && o.includes('b') && o.every(x => x === 'a' || x === 'b')
    }, 90000)
    assert.ok(split, `shards split between a and b: ${(await owners()).join(',')}\n${a.output.slice(-1500)}\n${b.output.slice(-1500)}`)

    process.kill(a.pid!, 'SIGSTOP')
    await fx.produce(w.values.slice(half))
    const takenOver = await eventually(async () => (await owners()).every(x => x === 'b'), 90000)
    assert.ok(takenOver, `b took every shard while a was frozen: ${(await owners()).join(',')}`)
    process.kill(a.pid!, 'SIGCONT')
    const back = await eventually(async () => (await owners()).includes('a'), 90000)
    assert.ok(back, `a rejoined and got shards back: ${(await owners()).join(',')}\n${a.output.slice(-2500)}`)

    const sinks = await checkSinks(fx, w.expected, 240000)
    const exact = { missing: 0, duplicated: 0, unexpected: 0, total: w.expected.size }
    assert.deepEqual(sinks, { expected: w.expected.size, pg: exact, kafka: exact }, a.output.slice(-3000))
  } finally {
    const stopped = await Promise.all([a.running ? a.kill('SIGTERM') : undefined, b.running ? b.kill('SIGTERM') : undefined])
    assert.ok(
      stopped.every(s => s === undefined || s.code === 0),
      `clean exits: ${JSON.stringify(stopped)}\n${a.output.slice(-2000)}\n${b.output.slice(-2000)}`,
    )
  }
})
