import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import net from 'node:net'
import { after, before, test } from 'node:test'
import { Compile } from 'typebox/compile'
import type { Service } from '../../src/service/app.ts'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'
import { SEED_EVENT_VALUE } from '../../testkit/seed.ts'
import { eventually, runService } from '../../testkit/service.ts'
import { startTcpProxy, type TcpProxy } from '../../testkit/tcp-proxy.ts'

// The service reaches PostgreSQL through a proxy this file can cut, so a real database outage hits
// this one service and not the stack the other test files share.
let fx: Fixture
let pgProxy: TcpProxy
let service: Service
let base: string

before(async () => {
  fx = await createFixture()
  const db = new URL(fx.config.databaseUrl)
  pgProxy = await startTcpProxy(db.hostname, Number(db.port))
  db.host = `127.0.0.1:${pgProxy.port}`
  service = await runService({
    ...fx.config,
    databaseUrl: db.toString(),
    httpEnabled: true,
    httpPort: 0,
    // Short backoff so that recovery after the outage is quick to observe.
    retryMaxDelayMs: 500,
  })
  base = `http://127.0.0.1:${service.httpPort}`
})
after(async () => {
  await service?.stop()
  await pgProxy?.close()
  await fx?.cleanup()
})

const health = async () => {
  const res = await fetch(`${base}/healthz`)
  return { status: res.status, body: (await res.json()) as { ok: boolean; detail: Record<string, string> } }
}
const metrics = async () => (await fetch(`${base}/metrics`)).text()

test('/healthz is 200 while the ingest, shard and feedback loops are healthy', async () => {
  const h = await health()
  assert.deepEqual(h, { status: 200, body: { ok: true, detail: { postgres: 'ok', ingest: 'ok', shards: 'ok', feedback: 'ok' } } })
  // /openapi.json describes this very body.
  const doc = await (await fetch(`${base}/openapi.json`)).json()
  const documented = doc.paths['/healthz'].get.responses['200'].content['application/json'].schema
  assert.ok(Compile(documented).Check(h.body), JSON.stringify(documented))
})

test('/metrics counts accepted and rejected input', async () => {
  await fx.produce([SEED_EVENT_VALUE, 'garbage'])
  const seen = await eventually(async () => {
    const text = await metrics()
    return (
      /offerstream_events_rejected_total\{code="not_json"\} 1/.test(text) &&
      /offerstream_events_accepted_total\{disposition="active"\} 1/.test(text)
    )
  }, 60000)
  assert.ok(seen, await metrics())
})

test('/healthz is 503 naming the failing component while PostgreSQL is unreachable, and 200 again after', async () => {
  const restaurant = randomUUID()
  const client = randomUUID()
  await fx.addSubscribers([[client, restaurant]])
  await pgProxy.cut()
  try {
    // Input arriving during the outage makes the writer need the database.
    const now = Math.floor(Date.now() / 1000)
    await fx.produce([
      JSON.stringify({
        restaurant_id: restaurant,
        adv_campaign_id: randomUUID(),
        adv_campaign_content: 'during the outage',
        adv_campaign_datetime_start: now - 60,
        adv_campaign_datetime_end: now + 7200,
      }),
    ])
    let last = await health()
    const unhealthy = await eventually(async () => {
      last = await health()
      return last.status === 503
    }, 60000)
    assert.ok(unhealthy, JSON.stringify(last))
    assert.equal(last.body.ok, false)
    const failing = Object.entries(last.body.detail).filter(([, v]) => v !== 'ok')
    assert.ok(failing.length > 0, JSON.stringify(last.body))
    for (const [component, detail] of failing) assert.match(detail, /^PG_UNAVAILABLE: /, `${component}: ${detail}`)
    assert.match(await metrics(), /offerstream_retries_total\{component="(ingest|writer|relay)",code="PG_UNAVAILABLE"\} [1-9]/)
  } finally {
    await pgProxy.restore()
  }
  let last = await health()
  const healthy = await eventually(async () => {
    last = await health()
    return last.status === 200
  }, 60000)
  assert.ok(healthy, JSON.stringify(last))
  // Nothing was lost: the campaign that arrived during the outage is pushed.
  const pushes = await fx.readTopic(fx.config.outputTopic, { atLeast: 1, timeoutMs: 60000 })
  assert.ok(
    pushes.some(p => p.key === client),
    `pushed keys: ${pushes.map(p => p.key).join(', ')}`,
  )
})

test('stop() takes the endpoint down with the service', async () => {
  await service.stop()
  // A raw connect, not fetch: fetch would try its kept-alive connection from the tests above first.
  const refused = await new Promise<string | undefined>(resolve => {
    const socket = net.connect(service.httpPort!, '127.0.0.1')
    socket.on('connect', () => resolve(socket.destroy() && 'connected'))
    socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code))
  })
  assert.equal(refused, 'ECONNREFUSED')
})
